package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
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
 * <p>
 * Its parts: {@code PollerRegistration} (a registration's state), {@code RegistrationTable} (slots and tokens),
 * {@code PollBatch} (one epoll_wait's events) and {@code SharedLoop} (the shared loop's hand-off). What is
 * left is the public API and the epoll set; its length is mostly that API's documentation (the threading
 * contract above is one job with the code that keeps it).
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

    static final long WAKEUP_TOKEN = -1L; // epoll data of the wakeup eventfd

    private final Fd epoll;
    private final EventFd wakeup;
    private final AtomicBoolean wakeupPending = new AtomicBoolean();
    private final PollBatch batch = new PollBatch(this); // what poll() fills; the shared poller's loop threads have their own
    private final ReentrantLock pollLock = new ReentrantLock();
    private final RegistrationTable table = new RegistrationTable();
    private final Runnable ensureOpen = this::ensureOpen;
    private final boolean shared;
    private volatile boolean closed;

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
                SharedLoop.start(p.batch);
                SharedLoop.leaveNativeAtExit(p);
            } catch (Throwable t) { // OutOfMemoryError: no thread can be created (RLIMIT_NPROC, clone3 refused)
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
        PollerRegistration registration = new PollerRegistration(this, target, trigger, handler, events);
        table.add(registration, ensureOpen);
        int fd = registration.acquireTarget();
        if (fd < 0) {
            table.remove(registration);
            registration.closeDuplicate();
            throw new IllegalStateException(target + " is closed");
        }
        try {
            epollCtl(Uapi.EPOLL_CTL_ADD, fd, registration.epollEvents(events), registration.token);
        } catch (SyscallException | IllegalStateException e) { // IllegalStateException: this poller was closed
            registration.releaseTarget();
            table.remove(registration);
            registration.closeDuplicate();
            throw e instanceof SyscallException failure ? ErrnoException.unchecked(failure) : (IllegalStateException) e;
        }
        registration.releaseTarget();
        if (!registration.hookTargetClose()) {
            registration.cancel();
            throw new IllegalStateException(target + " is closed");
        }
        if (closed) { // close() ran meanwhile and may have cancelled this registration before it was added
            registration.cancel();
            registration.unhookTargetClose(); // added after that cancel
            throw new IllegalStateException("Poller is closed");
        }
        return registration.api();
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
        return table.size();
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
        for (PollerRegistration r : table.live()) r.cancel();
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

    private int pollOnce(int timeoutMillis) {
        if (!pollLock.tryLock()) {
            if (closed) return 0; // close() holds the lock while it releases the descriptors: not a second poller
            throw new IllegalStateException("another thread is already polling this poller");
        }
        try {
            if (closed || shared && !SharedLoop.hostLoop(batch)) return 0;
            return batch.fill(timeoutMillis) ? batch.dispatch() : 0;
        } finally {
            pollLock.unlock();
        }
    }

    // ------------------------------------------------------------------ for its parts

    /** epoll_wait into {@code events}; -1 if the epoll descriptor is closed. */
    int epollWait(MemorySegment events, int maxEvents, int timeoutMillis) {
        int epfd = epoll.tryAcquire();
        if (epfd < 0) return -1;
        try {
            return Syscalls.epollWait(epfd, events, maxEvents, timeoutMillis);
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        } finally {
            epoll.release();
        }
    }

    /** epoll_ctl under a use of the epoll descriptor, so a concurrent close() cannot release its number meanwhile. */
    void epollCtl(int op, int fd, int events, long data) throws SyscallException {
        int epfd = epoll.tryAcquire();
        if (epfd < 0) throw new IllegalStateException("Poller is closed");
        try {
            Syscalls.epollCtl(epfd, op, fd, events, data);
        } finally {
            epoll.release();
        }
    }

    /** EPOLL_CTL_DEL for a cancelled registration, unless the poller is closed already. */
    void removeIfOpen(int fd) {
        int epfd = epoll.tryAcquire();
        if (epfd < 0) return;
        try {
            Syscalls.epollCtl(epfd, Uapi.EPOLL_CTL_DEL, fd, 0, 0);
        } catch (SyscallException e) {
            // ENOENT: a foreign descriptor was closed first and the kernel dropped it. Nothing to undo.
        } finally {
            epoll.release();
        }
    }

    /** The loop read {@link #WAKEUP_TOKEN}: a {@link #wakeup()} reached it. */
    void consumeWakeup() {
        // Consume the signal first, then allow the next one: cleared first, a wakeup() in between
        // would find the flag clear, signal, and have that signal read here, leaving the flag set
        // with no signal behind it, so every later wakeup() did nothing. In this order a wakeup()
        // in between finds the flag still set and is absorbed by this poll, which is returning.
        wakeup.tryReadValue();
        wakeupPending.set(false);
    }

    PollerRegistration registration(long token) {
        return table.get(token);
    }

    /** A cancelled registration gives its slot back. */
    void forget(PollerRegistration r) {
        table.remove(r);
    }

    boolean isClosed() {
        return closed;
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

    /** One interest of one descriptor in this poller; its state lives in a {@code PollerRegistration}. */
    public final class Registration {
        private final PollerRegistration impl;

        Registration(PollerRegistration impl) {
            this.impl = impl;
        }

        /**
         * The registered object.
         *
         * @return the target passed to register
         */
        public Pollable target() {
            return impl.target();
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
            return impl.events();
        }

        /**
         * Whether the registration still delivers events.
         *
         * @return false once cancelled, explicitly or by closing the target or the poller
         */
        public boolean isActive() {
            return impl.isActive();
        }

        /** Re-arms a ONE_SHOT registration (or changes the events of any registration) after it fired. */
        public void rearm() {
            impl.modify(impl.events());
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
            impl.modify(events);
        }

        /**
         * Stops this registration. When it returns the handler is not running (unless the caller is that
         * handler) and never runs again. Idempotent.
         */
        public void cancel() {
            impl.cancel();
        }

        @Override
        public String toString() {
            return impl.toString();
        }
    }
}
