package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
 * <li>{@link #hostShared()}: the shared poller with no thread, nested that way in a host event loop (Netty,
 *     Vert.x), so that fdkit's own asynchronous methods run on the host's thread.</li>
 * </ul>
 * Handlers run on the polling thread, one at a time; keep them short.
 * <p>
 * <b>Blocking on the shared poller's thread.</b> Handlers, {@code onExit()} dependents, Flow subscribers and
 * every other callback fdkit runs there may call any blocking fdkit method — {@code waitFor()},
 * {@code EventFd.read()}, {@code join()} or {@code get()} on a future fdkit returned, {@code Futex.await},
 * {@code CompletionRing.awaitNonEmpty} — as they may with java.lang.Process. The wait first hands the loop,
 * with the rest of its batch of events, to a new {@code fdkit-poller} thread (compensation, as
 * ForkJoinPool.managedBlock does), so every other exit, readiness and completion keeps being delivered; the
 * blocked thread finishes its callback and then ends. A callback that does not block costs nothing: the loop
 * stays on one thread. While one blocks, handlers of other registrations may run at the same time on the new
 * thread, never two of the same registration: events for a registration whose handler is still running are
 * kept and delivered to it when it returns, and a level-triggered one is taken out of epoll meanwhile, so it
 * does not spin the new thread. Blocking in something else (a lock, a socket, Thread.sleep) stalls the shared
 * poller: use the *Async methods or your own executor for that.
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
        /**
         * Reacts to readiness; runs on the polling thread, never concurrently for one registration.
         *
         * @param registration the registration that is ready: cancel or rearm it from here if needed
         * @param events       the ready conditions: a combination of READABLE, WRITABLE, HANGUP, ERROR
         */
        void onReady(Registration registration, int events);
    }

    private static final System.Logger LOG = System.getLogger("dev.fdkit.Poller");
    private static final int MAX_EVENTS = 512;
    private static final long WAKEUP_TOKEN = -1L;

    private final Fd epoll;
    private final EventFd wakeup;
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private final Batch batch = new Batch(); // what poll() fills; the shared poller's loop threads have their own
    private final ReentrantLock pollLock = new ReentrantLock();
    private final boolean shared;
    private volatile boolean closed;
    /** The shared poller's batch whose thread runs the loop now; another one once a callback blocked (see class comment). */
    private static volatile Batch sharedLoop;

    // Registrations by slot; epoll data carries (sequence << 32 | slot), so a stale event for a slot that
    // has been reused since never reaches the new registration.
    private final ReentrantLock tableLock = new ReentrantLock();
    private volatile AtomicReferenceArray<Registration> slots = new AtomicReferenceArray<>(64);
    private int[] freeSlots = new int[0];
    private int freeCount;
    private int nextUnusedSlot;
    private int liveCount;
    private int sequence;

    private Poller(boolean shared) {
        try {
            this.epoll = new Fd(Syscalls.epollCreate1(Uapi.EPOLL_CLOEXEC), "Poller");
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
        try {
            this.wakeup = EventFd.open();
            Syscalls.epollCtl(epoll.number(), Uapi.EPOLL_CTL_ADD, wakeup.fd(), Uapi.EPOLLIN, WAKEUP_TOKEN);
        } catch (SyscallException e) {
            epoll.close();
            throw ErrnoException.unchecked(e);
        } catch (RuntimeException e) {
            epoll.close();
            throw e;
        }
        this.shared = shared;
    }

    /**
     * A new poller with no thread of its own: drive it with {@link #poll(Duration)}.
     *
     * @return a new open poller, owned by the caller: close it
     * @throws UncheckedIOException if epoll_create1 or eventfd fails (EMFILE, ENFILE, ENOMEM)
     */
    public static Poller open() {
        return new Poller(false);
    }

    /**
     * The process-wide poller, started on first use, served by one daemon thread. It cannot be closed.
     *
     * @return the shared poller, the same instance on every call once started
     * @throws UncheckedIOException if it cannot be started (EMFILE, or eventfd or epoll refused by seccomp);
     *                              a later call tries again
     */
    public static Poller shared() {
        Poller p = sharedPoller;
        return p != null ? p : startShared();
    }

    private static volatile Poller sharedPoller;

    // Not a holder class: a failed class initialiser would answer NoClassDefFoundError to every later call,
    // also once descriptors are available again, instead of the failure itself.
    private static synchronized Poller startShared() {
        if (sharedPoller == null) {
            Poller p = new Poller(true);
            try {
                p.startLoop(p.batch);
            } catch (Throwable t) { // OutOfMemoryError: no thread can be created (RLIMIT_NPROC, clone3 refused)
                sharedLoop = null;
                p.epoll.close();
                p.wakeup.close();
                throw t;
            }
            sharedPoller = p;
        }
        return sharedPoller;
    }

    // ------------------------------------------------------------------ hosted by a foreign event loop

    private boolean hosted; // the shared poller, driven by a host loop's thread (hostShared); set before it is published

    /**
     * The shared poller without a thread of its own, for a host event loop (Netty, Vert.x, your own epoll loop):
     * nest {@link #fd()} in the host loop and call {@code poll(Duration.ZERO)} when it is readable, always from
     * the same thread. Everything fdkit does asynchronously ({@code onExit()} of processes, output publishers,
     * readiness waits) then runs on that thread, and no {@code fdkit-poller} thread is started. Call it before
     * anything uses {@link #shared()}.
     * <p>
     * If the polling thread blocks in an fdkit wait ({@code waitFor()}, {@code join()} on an fdkit future ...),
     * in a callback or not, the loop is first handed to an {@code fdkit-poller} thread for good, as on the
     * shared poller's own thread (see the class comment), and later polls by the host return 0: a host thread
     * never waits for work that only it can do.
     *
     * @return the shared poller: the same instance on every call, and the one {@link #shared()} returns
     * @throws IllegalStateException if the shared poller has already started with its own thread
     * @throws UncheckedIOException  as {@link #shared()}
     */
    public static synchronized Poller hostShared() {
        if (sharedPoller == null) {
            Poller p = new Poller(true);
            p.hosted = true;
            sharedPoller = p;
        } else if (!sharedPoller.hosted) {
            throw new IllegalStateException("the shared poller already runs on its own thread: call Poller.hostShared() before anything uses Poller.shared()");
        }
        return sharedPoller;
    }

    /** On a poll of the hosted shared poller: the caller runs the loop, unless a blocking wait handed it to a thread. */
    private boolean hostLoop() {
        Batch loop = sharedLoop;
        if (loop != null && loop != batch) return false; // an fdkit-poller thread runs it now
        batch.thread = Thread.currentThread();
        sharedLoop = batch; // after `thread`: beforeBlocking on this thread finds the loop it runs
        return true;
    }

    /**
     * Registers a level-triggered interest; see {@link #register(Pollable, int, Trigger, Handler)}.
     *
     * @param target  the descriptor's owner; fdkit objects cancel the registration when they close
     * @param events  READABLE, WRITABLE and/or HANGUP
     * @param handler run on the polling thread while the condition holds
     * @return the registration: cancel it before closing a foreign descriptor
     * @throws IllegalArgumentException for an empty or unknown event set
     * @throws IllegalStateException    if this poller or the target is closed
     * @throws UncheckedIOException     if epoll_ctl fails (EEXIST: the descriptor is already registered here)
     */
    public Registration register(Pollable target, int events, Handler handler) {
        return register(target, events, Trigger.LEVEL, handler);
    }

    /**
     * Registers {@code target} for {@code events} (READABLE, WRITABLE and/or HANGUP).
     * A ProcessDescriptor may be registered on any poller, the shared one too (where fdkit itself watches its
     * pidfd for the exit): the registration holds a duplicate of the pidfd, closed with it.
     *
     * @param target  the descriptor's owner; fdkit objects cancel the registration when they close
     * @param events  READABLE, WRITABLE and/or HANGUP (ERROR is always reported)
     * @param trigger when the handler runs: LEVEL, EDGE or ONE_SHOT
     * @param handler run on the polling thread, one call at a time for this registration
     * @return the registration: cancel it before closing a foreign descriptor
     * @throws IllegalArgumentException for an empty or unknown event set
     * @throws IllegalStateException    if this poller or the target is closed
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
        } catch (SyscallException | IllegalStateException e) { // IllegalStateException: this poller was closed
            registration.releaseTarget();
            freeSlot(registration);
            registration.closeDuplicate();
            throw e instanceof SyscallException failure ? ErrnoException.unchecked(failure) : (IllegalStateException) e;
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
     * {@code Duration.ZERO} or a negative timeout does not block; a timeout longer than epoll_wait can take
     * (about 24.8 days) waits without one. Returns the number of handlers run (0 on timeout, after a
     * {@link #wakeup()}, or when the poller is closed).
     *
     * @param timeout how long to wait at most; not null
     * @return the number of handlers run
     * @throws IllegalStateException if another thread is polling, or this is the shared poller with its own thread
     */
    public int poll(Duration timeout) {
        long nanos = Durations.timeoutNanos(timeout, "timeout");
        requireNotShared();
        return pollOnce(toMillis(nanos));
    }

    /**
     * Waits until something is ready or {@link #wakeup()} is called, then runs the ready handlers.
     *
     * @return the number of handlers run (0 after a wakeup or when the poller is closed)
     * @throws IllegalStateException if another thread is polling, or this is the shared poller with its own thread
     */
    public int poll() {
        requireNotShared();
        return pollOnce(-1);
    }

    private void requireNotShared() {
        if (shared && !hosted) throw new IllegalStateException("the shared poller is driven by its own thread; use Poller.open() or Poller.hostShared() to poll yourself");
    }

    /** Whether the caller runs the shared poller's loop now, and so must never wait for its own work. */
    static boolean isSharedLoopThread() {
        return loopOfThisThread() != null;
    }

    /** The shared poller's batch if the caller runs its loop now, else null. */
    private static Batch loopOfThisThread() {
        Batch loop = sharedLoop;
        return loop != null && loop.thread == Thread.currentThread() ? loop : null;
    }

    /**
     * Called by every blocking fdkit wait before it blocks: on the shared poller's loop thread, hands the loop
     * to a new thread first (see the class comment). Anywhere else: nothing, one volatile read.
     */
    static void beforeBlocking() {
        Batch loop = loopOfThisThread();
        if (loop != null) loop.handOff();
        else FallbackReaper.beforeBlocking(); // without pidfds, exit callbacks run on the reaper's thread
    }

    /** Makes a poll in progress (or the next one) return promptly. */
    public void wakeup() {
        if (closed || !wakeupPending.compareAndSet(false, true)) return;
        wakeup.signalIfOpen(1); // closed meanwhile by close(), which wakes a poll in progress itself
    }

    /** The epoll descriptor: readable when a registration is ready. Nest it in a host loop. */
    @Override
    public int fd() {
        if (closed) throw new IllegalStateException("Poller is closed");
        return epoll.number();
    }

    /**
     * Number of live registrations.
     *
     * @return the registrations added and not yet cancelled
     */
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
        if (shared) throw new IllegalStateException("the shared poller cannot be closed");
        if (closed) return;
        closed = true;
        for (Registration r : liveRegistrations()) r.cancel();
        wakeupPending.set(true);
        wakeup.signalIfOpen(1);
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

    /** The shared poller's loop, on a new thread that takes over {@code batch}: until it hands the loop on. */
    private void startLoop(Batch batch) {
        Thread thread = Thread.ofPlatform().daemon().name("fdkit-poller").unstarted(() -> runLoop(batch));
        batch.thread = thread;
        sharedLoop = batch; // before start: a blocking callback on the new thread must find itself here
        thread.start();
    }

    private void runLoop(Batch batch) {
        while (sharedLoop == batch) {
            try {
                if (batch.isDone()) batch.fill(-1);
                batch.dispatch();
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.ERROR, "fdkit poller loop failed; continuing", t);
            }
        }
    }

    /**
     * On the loop thread, in a callback about to block: a new thread takes over the loop with the events of
     * this batch not dispatched yet; this thread finishes its callback and ends. The blocked registration, if
     * level-triggered, leaves epoll until its handler returns.
     */
    private void handOff(Batch blocked) {
        Batch rest = blocked.takeRest();
        try {
            startLoop(rest);
        } catch (Throwable t) { // no thread to be had (RLIMIT_NPROC): the loop stays here and waits with the callback
            blocked.putBack(rest);
            sharedLoop = blocked;
            LOG.log(System.Logger.Level.WARNING, "fdkit poller: no thread to hand the loop to while a callback blocks", t);
            return;
        }
        if (blocked.dispatching != null) blocked.dispatching.muteWhileBlocked();
    }

    private int pollOnce(int timeoutMillis) {
        if (!pollLock.tryLock()) {
            if (closed) return 0; // close() holds the lock while it releases the descriptors: not a second poller
            throw new IllegalStateException("another thread is already polling this poller");
        }
        try {
            if (closed || shared && !hostLoop()) return 0;
            return batch.fill(timeoutMillis) ? batch.dispatch() : 0;
        } finally {
            pollLock.unlock();
        }
    }

    /**
     * One epoll_wait's events, decoded, and how far dispatching has gone: a thread's unit of work. Its rest
     * moves to a new thread when a callback blocks on the shared poller (see {@link #handOff}).
     */
    private final class Batch {
        private final MemorySegment events = Syscalls.allocateEpollEvents(MAX_EVENTS);
        private final long[] tokens = new long[MAX_EVENTS];
        private final int[] masks = new int[MAX_EVENTS];
        private int next;
        private int count;
        Thread thread; // the shared poller's thread dispatching it; set before that thread starts
        Registration dispatching; // whose handler runs now, on this batch's thread

        boolean isDone() {
            return next == count;
        }

        void handOff() {
            Poller.this.handOff(this);
        }

        /** epoll_wait into this batch; false if the epoll descriptor is closed. */
        boolean fill(int timeoutMillis) {
            int epfd = epoll.tryAcquire();
            if (epfd < 0) return false;
            int ready;
            try {
                ready = Syscalls.epollWait(epfd, events, MAX_EVENTS, timeoutMillis);
            } catch (SyscallException e) {
                throw ErrnoException.unchecked(e);
            } finally {
                epoll.release();
            }
            for (int i = 0; i < ready; i++) {
                tokens[i] = Syscalls.epollEventData(events, i);
                masks[i] = Syscalls.epollEventMask(events, i);
            }
            next = 0;
            count = ready;
            return true;
        }

        /** Runs the handlers of the events left, in order; returns how many ran. */
        int dispatch() {
            int handled = 0;
            while (next < count && !closed) {
                int i = next++;
                long token = tokens[i];
                if (token == WAKEUP_TOKEN) {
                    // Consume the signal first, then allow the next one: cleared first, a wakeup() in between
                    // would find the flag clear, signal, and have that signal read here, leaving the flag set
                    // with no signal behind it, so every later wakeup() did nothing. In this order a wakeup()
                    // in between finds the flag still set and is absorbed by this poll, which is returning.
                    wakeup.tryReadValue();
                    wakeupPending.set(false);
                    continue;
                }
                Registration r = slots.get((int) token);
                if (r == null || r.token != token) continue;
                dispatching = r;
                try {
                    if (r.dispatch(fromEpoll(masks[i]))) handled++;
                } finally {
                    dispatching = null;
                }
            }
            return handled;
        }

        /** A new batch holding the events not dispatched yet; this one is done once its current handler returns. */
        Batch takeRest() {
            Batch rest = new Batch();
            int left = count - next;
            System.arraycopy(tokens, next, rest.tokens, 0, left);
            System.arraycopy(masks, next, rest.masks, 0, left);
            rest.count = left;
            count = next;
            return rest;
        }

        /** Undoes {@link #takeRest()}: its events are this batch's again. */
        void putBack(Batch rest) {
            count = next + rest.count;
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
    private void epollCtl(int op, int fd, int events, long data) throws SyscallException {
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
        // Events that arrived while the handler ran on another thread (one that blocked: see the class comment).
        private final AtomicInteger pendingEvents = new AtomicInteger();
        private volatile boolean muted; // out of epoll while its level-triggered handler blocks; set under dispatchLock
        private volatile int interest;
        long token;

        private Registration(Pollable target, Trigger trigger, Handler handler, int events) {
            this.target = target;
            this.owned = Descriptors.of(target);
            this.registered = Descriptors.watchedByFdkit(target) ? duplicate(owned) : owned;
            this.foreignFd = owned == null ? target.fd() : -1;
            if (owned == null && foreignFd < 0) throw new IllegalArgumentException("target.fd() must be an open descriptor (0 or more), was " + foreignFd + " for " + target);
            this.trigger = trigger;
            this.handler = handler;
            this.interest = events;
        }

        /**
         * The registered object.
         *
         * @return the target passed to register
         */
        public Pollable target() {
            return target;
        }

        /**
         * The poller this registration belongs to.
         *
         * @return the poller whose thread runs the handler
         */
        public Poller poller() {
            return Poller.this;
        }

        /**
         * The events asked for.
         *
         * @return the current interest set, as last given to register or rearm
         */
        public int events() {
            return interest;
        }

        /**
         * Whether the registration still delivers events.
         *
         * @return false once cancelled, explicitly or by closing the target or the poller
         */
        public boolean isActive() {
            return !cancelled.get();
        }

        /** Re-arms a ONE_SHOT registration (or changes the events of any registration) after it fired. */
        public void rearm() {
            modify(interest);
        }

        /**
         * Re-arms with a new event set.
         *
         * @param events READABLE, WRITABLE and/or HANGUP
         * @throws IllegalArgumentException for an empty or unknown event set
         * @throws IllegalStateException    if the registration is cancelled or its target closed
         */
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
            } catch (SyscallException e) {
                // ENOENT when a concurrent cancel() took the descriptor out after the check above
                if (cancelled.get()) throw new IllegalStateException("registration is cancelled");
                if (muted) return; // out of epoll while its handler blocks: it rejoins with `interest`
                throw ErrnoException.unchecked(e);
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
                } catch (SyscallException e) {
                    // ENOENT: a foreign descriptor was closed first and the kernel dropped it. Nothing to undo.
                } finally {
                    if (epfd >= 0) epoll.release();
                    if (borrowed) releaseTarget();
                }
            }
            if (!dispatchLock.isHeldByCurrentThread()) {
                if (dispatchLock.isLocked()) beforeBlocking(); // a handler running on another thread: wait for it
                dispatchLock.lock();
                dispatchLock.unlock();
            }
            closeDuplicate();
            freeSlot(this);
        }

        /**
         * A duplicate of a descriptor fdkit watches itself ({@link Descriptors#watchedByFdkit}), closed with the
         * registration: the user's interest and fdkit's then never collide (EEXIST).
         */
        private static Fd duplicate(Fd descriptor) {
            try {
                Fd d = descriptor.duplicate("registration of " + descriptor);
                return d != null ? d : descriptor; // closed: register() reports it
            } catch (SyscallException e) {
                throw ErrnoException.unchecked(e);
            }
        }

        void closeDuplicate() {
            if (registered != owned) registered.close();
        }

        /**
         * Runs the handler for {@code events}, or leaves them to the thread running it already: that happens
         * only while a handler blocks on a thread that handed the loop on, and that thread runs them once its
         * handler returns. Returns whether the handler ran here.
         */
        boolean dispatch(int events) {
            boolean ran = false;
            int ready = events;
            for (;;) {
                if (!dispatchLock.tryLock()) {
                    if (ready != 0) pendingEvents.getAndAccumulate(ready, (a, b) -> a | b);
                    ready = 0;
                    // Taken again after storing: then the holder has unlocked, and may have looked at
                    // pendingEvents before our store, so they are ours to run. Failed: it looks after unlocking.
                    if (!dispatchLock.tryLock()) return ran;
                }
                try {
                    if (pendingEvents.get() != 0) ready |= pendingEvents.getAndSet(0);
                    if (ready != 0 && !cancelled.get()) {
                        ran = true;
                        runHandler(ready);
                    }
                    ready = 0;
                } finally {
                    if (muted) rejoinEpoll();
                    dispatchLock.unlock();
                }
                if (pendingEvents.get() == 0) return ran;
            }
        }

        private void runHandler(int events) {
            FdkitEvents.PollerStall stall = new FdkitEvents.PollerStall();
            stall.begin();
            try {
                handler.onReady(this, events);
            } catch (Throwable t) {
                LOG.log(System.Logger.Level.WARNING, "handler of " + target + " threw", t);
            }
            stall.end();
            if (stall.shouldCommit()) {
                stall.registration = toString();
                stall.commit();
            }
        }

        /** The handler is about to block on the loop thread (under dispatchLock): level-triggered, it leaves epoll meanwhile. */
        void muteWhileBlocked() {
            if (trigger != Trigger.LEVEL || muted || cancelled.get()) return;
            int fd = acquireTarget();
            if (fd < 0) return;
            try {
                epollCtl(Uapi.EPOLL_CTL_DEL, fd, 0, 0);
                muted = true;
            } catch (SyscallException | IllegalStateException e) {
                // gone already (closed or cancelled): nothing to mute
            } finally {
                releaseTarget();
            }
        }

        /** Under dispatchLock, after a muted handler returned: back into epoll, unless cancel() ran meanwhile. */
        private void rejoinEpoll() {
            muted = false;
            if (cancelled.get()) return;
            int fd = acquireTarget();
            if (fd < 0) return;
            try {
                epollCtl(Uapi.EPOLL_CTL_ADD, fd, epollEvents(interest), token);
                // cancel() sets `cancelled` before its EPOLL_CTL_DEL: seen clear here, its DEL comes after our ADD
                if (cancelled.get()) epollCtl(Uapi.EPOLL_CTL_DEL, fd, 0, 0);
            } catch (SyscallException | IllegalStateException e) {
                LOG.log(System.Logger.Level.WARNING, "could not re-register " + target + " after its handler blocked", e);
            } finally {
                releaseTarget();
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
