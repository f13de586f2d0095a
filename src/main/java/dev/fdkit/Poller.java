package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Errno;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.ReentrantLock;


/**
 * Readiness for any number of descriptors through one epoll instance.
 * <p>
 * Two ways to drive it:
 * <ul>
 * <li>{@link #shared()}: a lazily started poller whose one daemon platform thread ({@code fdkit-poller})
 *     runs the handlers. fdkit's own asynchronous methods use it.</li>
 * <li>{@link #open()}: a poller with no thread. Call {@link #poll(Duration)} from your loop, or nest
 *     {@link #fd()} (an epoll descriptor, readable when a registration is ready) in your own epoll, select
 *     or io_uring loop and call {@code poll(Duration.ZERO)} when it is readable.</li>
 * </ul>
 * Handlers run on the polling thread, one at a time; keep them short and non-blocking.
 * {@link Registration#cancel()} and {@link #close()} are safe from any thread, also while another thread
 * is in epoll_wait or running handlers: once {@code cancel()} returns, that registration's handler is not
 * running and never runs again. Closing a registered fdkit object cancels its registrations.
 */
public final class Poller implements Pollable, AutoCloseable {
    /** Readable (EPOLLIN). */
    public static final int READABLE = 1;
    /** Writable (EPOLLOUT). */
    public static final int WRITABLE = 2;
    /** Hang-up: the peer closed (EPOLLHUP, EPOLLRDHUP). Always reported; may also be asked for alone. */
    public static final int HANGUP = 4;
    /** An error condition on the descriptor (EPOLLERR). Always reported, never needs asking for. */
    public static final int ERROR = 8;

    /** How a registration is triggered. */
    public enum Trigger {
        /** Reported on every poll while the condition holds. */
        LEVEL,
        /** Reported when the condition newly arises (EPOLLET). */
        EDGE,
        /** Reported once, then disarmed until {@link Registration#rearm()} (EPOLLONESHOT). */
        ONE_SHOT
    }

    /** Runs on the polling thread when a registration is ready. */
    @FunctionalInterface
    public interface Handler {
        /** @param events the ready conditions: a combination of READABLE, WRITABLE, HANGUP, ERROR */
        void onReady(Registration registration, int events);
    }

    private static final System.Logger LOG = System.getLogger("dev.fdkit.Poller");
    private static final int MAX_EVENTS = 512;
    private static final long WAKEUP_TOKEN = -1L;

    private final Fd epoll;
    private final EventFd wakeup;
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private final MemorySegment events = Syscalls.allocateEpollEvents(MAX_EVENTS);
    private final ReentrantLock pollLock = new ReentrantLock();
    private final Thread ownThread;
    private volatile boolean closed;

    // Registrations by slot; epoll data carries (sequence << 32 | slot), so a stale event for a slot that
    // has been reused since never reaches the new registration.
    private final ReentrantLock tableLock = new ReentrantLock();
    private volatile AtomicReferenceArray<Registration> slots = new AtomicReferenceArray<>(64);
    private int[] freeSlots = new int[0];
    private int freeCount;
    private int nextUnusedSlot;
    private int liveCount;
    private int sequence;

    private Poller(boolean withThread) {
        try {
            this.epoll = new Fd(Syscalls.epollCreate1(Uapi.EPOLL_CLOEXEC), "Poller");
        } catch (ErrnoException e) {
            throw new UncheckedIOException(e);
        }
        try {
            this.wakeup = EventFd.open();
            Syscalls.epollCtl(epoll.number(), Uapi.EPOLL_CTL_ADD, wakeup.fd(), Uapi.EPOLLIN, WAKEUP_TOKEN);
        } catch (ErrnoException | RuntimeException e) {
            epoll.close();
            throw e instanceof ErrnoException ee ? new UncheckedIOException(ee) : (RuntimeException) e;
        }
        this.ownThread = withThread ? Thread.ofPlatform().daemon().name("fdkit-poller").unstarted(this::runLoop) : null;
    }

    /** A new poller with no thread of its own: drive it with {@link #poll(Duration)}. */
    public static Poller open() {
        return new Poller(false);
    }

    /** The process-wide poller, started on first use, served by one daemon thread. It cannot be closed. */
    public static Poller shared() {
        return Shared.INSTANCE;
    }

    private static final class Shared {
        static final Poller INSTANCE = new Poller(true);

        static {
            INSTANCE.ownThread.start();
        }
    }

    /** Registers a level-triggered interest. */
    public Registration register(Pollable target, int events, Handler handler) {
        return register(target, events, Trigger.LEVEL, handler);
    }

    /**
     * Registers {@code target} for {@code events} (READABLE, WRITABLE and/or HANGUP).
     *
     * @throws IllegalArgumentException for an empty or unknown event set
     * @throws IllegalStateException    if this poller or the target is closed
     * A ProcessDescriptor may be registered on any poller, the shared one too (where fdkit itself watches its
     * pidfd for the exit): the registration holds a duplicate of the pidfd, closed with it.
     *
     * @throws UncheckedIOException     if epoll_ctl fails (EEXIST: the descriptor is already registered here)
     */
    public Registration register(Pollable target, int events, Trigger trigger, Handler handler) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(trigger, "trigger");
        Objects.requireNonNull(handler, "handler");
        checkInterest(events);
        ensureOpen();
        Registration registration = new Registration(target, trigger, handler, events);
        allocateSlot(registration);
        int fd = registration.acquireTarget();
        if (fd < 0) {
            freeSlot(registration);
            registration.closeDuplicate();
            throw new IllegalStateException(target + " is closed");
        }
        try {
            epollCtl(Uapi.EPOLL_CTL_ADD, fd, registration.epollEvents(events), registration.token);
        } catch (ErrnoException | IllegalStateException e) { // IllegalStateException: this poller was closed
            registration.releaseTarget();
            freeSlot(registration);
            registration.closeDuplicate();
            throw e instanceof ErrnoException errno ? new UncheckedIOException(errno) : (IllegalStateException) e;
        }
        registration.releaseTarget();
        if (registration.owned != null && !registration.owned.addCloseHook(registration.closeHook)) {
            registration.cancel();
            throw new IllegalStateException(target + " is closed");
        }
        if (closed) { // close() ran meanwhile and may have cancelled this registration before it was added
            registration.cancel();
            if (registration.owned != null) registration.owned.removeCloseHook(registration.closeHook); // added after that cancel
            throw new IllegalStateException("Poller is closed");
        }
        return registration;
    }

    /**
     * Waits up to {@code timeout} for ready registrations and runs their handlers on this thread.
     * {@code Duration.ZERO} does not block; a timeout longer than epoll_wait can take (about 24.8 days) waits
     * without one. Returns the number of handlers run (0 on timeout, after a {@link #wakeup()}, or when the
     * poller is closed).
     *
     * @throws IllegalArgumentException if {@code timeout} is negative
     * @throws IllegalStateException if another thread is polling, or this is the shared poller
     */
    public int poll(Duration timeout) {
        long nanos = Durations.timeoutNanos(timeout, "timeout");
        if (ownThread != null && Thread.currentThread() != ownThread) {
            throw new IllegalStateException("the shared poller is driven by its own thread; use Poller.open() to poll yourself");
        }
        return pollOnce(toMillis(nanos));
    }

    /** Waits until something is ready or {@link #wakeup()} is called, then runs the ready handlers. */
    public int poll() {
        if (ownThread != null && Thread.currentThread() != ownThread) {
            throw new IllegalStateException("the shared poller is driven by its own thread; use Poller.open() to poll yourself");
        }
        return pollOnce(-1);
    }

    /** Whether the caller is this poller's own thread (the shared poller's), which must never wait for its own work. */
    boolean isOwnThread() {
        return Thread.currentThread() == ownThread;
    }

    /** Makes a poll in progress (or the next one) return promptly. */
    public void wakeup() {
        if (closed || !wakeupPending.compareAndSet(false, true)) return;
        wakeup.trySignal(1);
    }

    /** The epoll descriptor: readable when a registration is ready. Nest it in a host loop. */
    @Override
    public int fd() {
        if (closed) throw new IllegalStateException("Poller is closed");
        return epoll.number();
    }

    /** Number of live registrations. */
    public int registrations() {
        tableLock.lock();
        try {
            return liveCount;
        } finally {
            tableLock.unlock();
        }
    }

    /**
     * Cancels every registration (their handlers never run after this returns, except one that is running
     * on the calling thread), then closes the epoll descriptor. A poll in progress on another thread returns.
     *
     * @throws IllegalStateException for the shared poller
     */
    @Override
    public void close() {
        if (ownThread != null) throw new IllegalStateException("the shared poller cannot be closed"); // only it has a thread
        if (closed) return;
        closed = true;
        for (Registration r : liveRegistrations()) r.cancel();
        wakeupPending.set(true);
        wakeup.trySignal(1);
        pollLock.lock(); // a poll in progress has noticed `closed` and left
        try {
            epoll.close();
            wakeup.close();
        } finally {
            pollLock.unlock();
        }
    }

    @Override
    public String toString() {
        return "Poller(fd=" + epoll.number() + ", registrations=" + registrations() + (closed ? ", closed" : "") + ")";
    }

    // ------------------------------------------------------------------ polling

    private void runLoop() {
        while (!closed) {
            try {
                pollOnce(-1);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "fdkit poller loop failed; continuing", t);
            }
        }
    }

    private int pollOnce(int timeoutMillis) {
        if (!pollLock.tryLock()) {
            if (closed) return 0; // close() holds the lock while it releases the descriptors: not a second poller
            throw new IllegalStateException("another thread is already polling this poller");
        }
        try {
            if (closed) return 0;
            int ready;
            int epfd = epoll.tryAcquire();
            if (epfd < 0) return 0;
            try {
                ready = Syscalls.epollWait(epfd, events, MAX_EVENTS, timeoutMillis);
            } catch (ErrnoException e) {
                throw new UncheckedIOException(e);
            } finally {
                epoll.release();
            }
            int handled = 0;
            for (int i = 0; i < ready && !closed; i++) {
                long token = Syscalls.epollEventData(events, i);
                if (token == WAKEUP_TOKEN) {
                    // Read, then clear: cleared first, a wakeup() in between would have its signal read here
                    // and leave the flag set over an empty eventfd, making every later wakeup() a no-op.
                    wakeup.tryReadValue();
                    wakeupPending.set(false);
                    continue;
                }
                Registration r = slots.get((int) token);
                if (r != null && r.token == token && r.dispatch(fromEpoll(Syscalls.epollEventMask(events, i)))) {
                    handled++;
                }
            }
            return handled;
        } finally {
            pollLock.unlock();
        }
    }

    // ------------------------------------------------------------------ slots

    private void allocateSlot(Registration r) {
        tableLock.lock();
        try {
            ensureOpen();
            int slot;
            if (freeCount > 0) {
                slot = freeSlots[--freeCount];
            } else {
                slot = nextUnusedSlot++;
                if (slot == slots.length()) {
                    AtomicReferenceArray<Registration> bigger = new AtomicReferenceArray<>(slot * 2);
                    for (int i = 0; i < slot; i++) bigger.set(i, slots.get(i));
                    slots = bigger;
                }
            }
            r.token = ((long) (++sequence & 0x7fff_ffff) << 32) | slot;
            slots.set(slot, r);
            liveCount++;
        } finally {
            tableLock.unlock();
        }
    }

    private void freeSlot(Registration r) {
        tableLock.lock();
        try {
            int slot = (int) r.token;
            if (slots.get(slot) != r) return;
            slots.set(slot, null);
            if (freeCount == freeSlots.length) freeSlots = java.util.Arrays.copyOf(freeSlots, Math.max(16, freeCount * 2));
            freeSlots[freeCount++] = slot;
            liveCount--;
        } finally {
            tableLock.unlock();
        }
    }

    private List<Registration> liveRegistrations() {
        tableLock.lock();
        try {
            List<Registration> live = new ArrayList<>(liveCount);
            for (int i = 0; i < nextUnusedSlot; i++) {
                Registration r = slots.get(i);
                if (r != null) live.add(r);
            }
            return live;
        } finally {
            tableLock.unlock();
        }
    }

    // ------------------------------------------------------------------ helpers

    /** epoll_ctl under a use of the epoll descriptor, so a concurrent close() cannot release its number meanwhile. */
    private void epollCtl(int op, int fd, int events, long data) throws ErrnoException {
        int epfd = epoll.tryAcquire();
        if (epfd < 0) throw new IllegalStateException("Poller is closed");
        try {
            Syscalls.epollCtl(epfd, op, fd, events, data);
        } finally {
            epoll.release();
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("Poller is closed");
    }

    private static void checkInterest(int events) {
        if (events == 0 || (events & ~(READABLE | WRITABLE | HANGUP | ERROR)) != 0) {
            throw new IllegalArgumentException("events must be a non-empty combination of READABLE, WRITABLE, HANGUP, ERROR; was 0x"
                    + Integer.toHexString(events));
        }
    }

    /** epoll_wait's timeout: rounded up (never return before the timeout); -1 (none) beyond an int of milliseconds. */
    private static int toMillis(long nanos) {
        long millis = nanos / 1_000_000 + (nanos % 1_000_000 == 0 ? 0 : 1);
        return millis > Integer.MAX_VALUE ? -1 : (int) millis;
    }

    private static int fromEpoll(int epollEvents) {
        int events = 0;
        if ((epollEvents & Uapi.EPOLLIN) != 0) events |= READABLE;
        if ((epollEvents & Uapi.EPOLLOUT) != 0) events |= WRITABLE;
        if ((epollEvents & (Uapi.EPOLLHUP | Uapi.EPOLLRDHUP)) != 0) events |= HANGUP;
        if ((epollEvents & Uapi.EPOLLERR) != 0) events |= ERROR;
        return events;
    }

    /** One interest of one descriptor in this poller. */
    public final class Registration {
        private final Pollable target;
        private final Fd owned; // null for a foreign Pollable
        private final Fd registered; // what epoll holds: owned, or for a ProcessDescriptor a duplicate of its pidfd
        private final int foreignFd;
        private final Trigger trigger;
        private final Handler handler;
        private final ReentrantLock dispatchLock = new ReentrantLock();
        private final Runnable closeHook = () -> cancel(true);
        private final AtomicBoolean cancelled = new AtomicBoolean();
        private volatile int interest;
        long token;

        private Registration(Pollable target, Trigger trigger, Handler handler, int events) {
            this.target = target;
            this.owned = Descriptors.of(target);
            this.registered = target instanceof ProcessDescriptor ? duplicate(owned) : owned;
            this.foreignFd = owned == null ? target.fd() : -1;
            if (owned == null && foreignFd < 0) throw new IllegalArgumentException("target.fd() must be an open descriptor (0 or more), was " + foreignFd + " for " + target);
            this.trigger = trigger;
            this.handler = handler;
            this.interest = events;
        }

        /** The registered object. */
        public Pollable target() {
            return target;
        }

        /** The poller this registration belongs to. */
        public Poller poller() {
            return Poller.this;
        }

        /** The events asked for. */
        public int events() {
            return interest;
        }

        public boolean isActive() {
            return !cancelled.get();
        }

        /** Re-arms a ONE_SHOT registration (or changes the events of any registration) after it fired. */
        public void rearm() {
            modify(interest);
        }

        /** Re-arms with a new event set. */
        public void rearm(int events) {
            checkInterest(events);
            modify(events);
        }

        private void modify(int events) {
            if (cancelled.get()) throw new IllegalStateException("registration is cancelled");
            int fd = acquireTarget();
            if (fd < 0) throw new IllegalStateException(target + " is closed");
            try {
                interest = events;
                epollCtl(Uapi.EPOLL_CTL_MOD, fd, epollEvents(events), token);
            } catch (ErrnoException e) {
                // ENOENT when a concurrent cancel() took the descriptor out after the check above
                if (cancelled.get()) throw new IllegalStateException("registration is cancelled");
                throw new UncheckedIOException(e);
            } finally {
                releaseTarget();
            }
        }

        /**
         * Stops this registration. When it returns the handler is not running (unless the caller is that
         * handler) and never runs again. Idempotent.
         */
        public void cancel() {
            cancel(false);
        }

        /**
         * @param closing true when called by the target's Fd.close(): the number is still ours (close
         *                holds a use while its hooks run) although tryAcquire already fails
         */
        private void cancel(boolean closing) {
            if (!cancelled.compareAndSet(false, true)) return;
            if (owned != null && !closing) owned.removeCloseHook(closeHook);
            boolean borrowed = !(closing && registered == owned); // closing: owned's number is still ours, unacquired
            int fd = borrowed ? acquireTarget() : owned.number();
            if (fd >= 0) {
                int epfd = epoll.tryAcquire();
                try {
                    if (epfd >= 0) Syscalls.epollCtl(epfd, Uapi.EPOLL_CTL_DEL, fd, 0, 0);
                } catch (ErrnoException e) {
                    // ENOENT: a foreign descriptor was closed first and the kernel dropped it. Nothing to undo.
                } finally {
                    if (epfd >= 0) epoll.release();
                    if (borrowed) releaseTarget();
                }
            }
            if (!dispatchLock.isHeldByCurrentThread()) {
                dispatchLock.lock(); // waits for a handler running on another thread
                dispatchLock.unlock();
            }
            closeDuplicate();
            freeSlot(this);
        }

        /**
         * fdkit watches every ProcessDescriptor's pidfd on the shared poller itself, for the exit: a user's
         * registration of the same pidfd there would fail with EEXIST. epoll keys an interest by open file and
         * descriptor number, so the user's registration holds a duplicate, closed with the registration.
         */
        private static Fd duplicate(Fd pidfd) {
            int number = pidfd.tryAcquire();
            if (number < 0) return pidfd; // closed: register() reports it
            try {
                return new Fd(Syscalls.fcntl(number, Uapi.F_DUPFD_CLOEXEC, 0), "ProcessDescriptor registration");
            } catch (ErrnoException e) {
                throw new UncheckedIOException(e);
            } finally {
                pidfd.release();
            }
        }

        void closeDuplicate() {
            if (registered != owned) registered.close();
        }

        boolean dispatch(int events) {
            dispatchLock.lock();
            try {
                if (cancelled.get()) return false;
                handler.onReady(this, events);
                return true;
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "handler of " + target + " threw", t);
                return true;
            } finally {
                dispatchLock.unlock();
            }
        }

        int acquireTarget() {
            return registered != null ? registered.tryAcquire() : foreignFd;
        }

        void releaseTarget() {
            if (registered != null) registered.release();
        }

        int epollEvents(int events) {
            int e = 0;
            if ((events & READABLE) != 0) e |= Uapi.EPOLLIN;
            if ((events & WRITABLE) != 0) e |= Uapi.EPOLLOUT;
            if ((events & HANGUP) != 0) e |= Uapi.EPOLLRDHUP;
            if (trigger == Trigger.EDGE) e |= Uapi.EPOLLET;
            if (trigger == Trigger.ONE_SHOT) e |= Uapi.EPOLLONESHOT;
            return e;
        }

        @Override
        public String toString() {
            return "Registration(" + target + ", events=0x" + Integer.toHexString(interest) + ", " + trigger + (isActive() ? "" : ", cancelled") + ")";
        }
    }
}
