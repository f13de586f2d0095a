package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Errno;
import dev.fdkit.internal.Fd;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Many processes behind one descriptor: the waitfd seed's "wait on an explicit set of children" — start
 * children into the set, {@link #add} descriptors you have (fdkit's children or any process), or
 * {@link #addGroup} this JVM's children in a process group (the seed's waitpid(-pgid) case), and take
 * their exits one at a time, each exactly once, from whichever of these you use:
 * <ul>
 * <li>{@link #fd()}: readable exactly while an exit is pending, so the set nests in any epoll, select or
 *     io_uring loop (or a {@link Poller}); {@link #poll()} then takes the event without blocking;</li>
 * <li>{@link #awaitAny(Duration)}: parks in Java until an exit or the timeout (safe on virtual threads and in
 *     callbacks on the shared poller's thread);</li>
 * <li>{@link #exits()}: a {@link Flow.Publisher} with back-pressure.</li>
 * </ul>
 * These compete for the same queue: each exit goes to exactly one of them. A member leaves the set when its exit
 * is taken, and its descriptor is handed over with the {@link ExitEvent}: close it when done (a Cleaner closes a
 * dropped one). A process added after it already exited is reported at once.
 * <p>
 * <b>Why an eventfd, not an epoll of the members' pidfds.</b> A pidfd is readable from the moment the kernel
 * sees the exit, before fdkit has reaped the child and made its {@link ExitStatus} (and for a process that is
 * not our child, until its parent reaps it, seconds later, or never). An epoll of pidfds would be readable with
 * nothing to take. The set's descriptor is an eventfd set while the queue of known exits is non-empty and
 * cleared when its last event is taken, under one lock: readable if and only if {@link #poll()} has an event.
 * <p>
 * <b>Closing.</b> {@link #close()} stops reporting and closes every member's descriptor, as
 * {@link ProcessDescriptor#close()} does: members keep running, fdkit's children are still reaped when they exit
 * (no zombies; {@link SpawnOption#KILL_ON_CLOSE} members are killed by their own option), exits not yet taken are
 * dropped. {@link #closeAndKill()} first sends SIGKILL to every member (through its pidfd, to its whole process
 * group if fdkit started it as a group leader) and waits until fdkit's children among them are reaped. After
 * either, {@link #poll()} and {@link #awaitAny} return empty, a subscriber gets onComplete, and {@link #start},
 * {@link #add} and {@link #fd()} throw IllegalStateException. Thread-safe.
 */
public final class ProcessSet implements Descriptors.Owned, AutoCloseable {
    /**
     * One member's exit: its descriptor (now the taker's to close) and its status.
     *
     * @param process the member that exited; no longer in the set
     * @param status  how it ended
     */
    public record ExitEvent(ProcessDescriptor process, ExitStatus status) {
        /** Checks both components are present. */
        public ExitEvent {
            Objects.requireNonNull(process, "process");
            Objects.requireNonNull(status, "status");
        }
    }

    private final Object lock = new Object();
    private final EventFd readiness = EventFd.open(); // set iff `pending` is non-empty (see the class comment)
    private final Set<ProcessDescriptor> members = new LinkedHashSet<>(); // guarded by lock; until the exit is taken
    private final ArrayDeque<ExitEvent> pending = new ArrayDeque<>(); // guarded by lock
    private CompletableFuture<Void> arrival; // guarded by lock; completed at the next exit or at close
    private Subscription subscription; // guarded by lock; the one subscriber, for the set's life
    private boolean closed; // guarded by lock

    private ProcessSet() {
    }

    /**
     * An empty set.
     *
     * @return a new set with no member
     */
    public static ProcessSet open() {
        return new ProcessSet();
    }

    /**
     * Starts a child as {@link ProcessDescriptor#start} does and adds it.
     *
     * @throws IllegalStateException if the set is closed (a child started while close() ran is killed and reaped)
     * @param builder what to run, as for {@link ProcessDescriptor#start}
     * @param options spawn options, as for {@link ProcessDescriptor#start}
     * @return the new member
     * @throws IOException as {@link ProcessDescriptor#start}: the program cannot be executed
     */
    public ProcessDescriptor start(ProcessBuilder builder, SpawnOption... options) throws IOException {
        Objects.requireNonNull(builder, "builder");
        Objects.requireNonNull(options, "options");
        ensureOpen();
        ProcessDescriptor child = ProcessDescriptor.start(builder, options);
        try {
            return add(child);
        } catch (RuntimeException e) {
            child.killForClose(); // closed meanwhile: it must not run on unsupervised
            child.close();
            throw e;
        }
    }

    /**
     * Adds a process; the set owns its descriptor from now on, until the exit is taken. Its exit is reported
     * even if it happened before this call.
     *
     * @throws IllegalArgumentException if it is already a member
     * @throws IllegalStateException    if the set is closed (the descriptor stays the caller's), or the descriptor
     *                                  of a process that is not our child is closed
     * @param process the descriptor to watch; the set closes it at {@link #close()} unless its exit was taken
     * @return {@code process}
     */
    public ProcessDescriptor add(ProcessDescriptor process) {
        Objects.requireNonNull(process, "process");
        synchronized (lock) {
            ensureOpen();
            if (!members.add(process)) throw new IllegalArgumentException("process is already a member: " + process);
        }
        CompletableFuture<ExitStatus> exit;
        try {
            exit = process.onExit();
        } catch (RuntimeException e) {
            synchronized (lock) {
                members.remove(process);
            }
            throw e;
        }
        // On the poller thread, or here if it has exited already. A non-child's descriptor closed by its owner
        // fails the future: still one event, so the member leaves the set.
        exit.whenComplete((status, failure) -> exited(process, status != null ? status
                : ExitStatus.unknown("its descriptor was closed before the exit was known: " + failure)));
        return process;
    }

    /**
     * Adds this JVM's children in process group {@code pgid}: the waitfd seed's "children in a particular process
     * group" (waitpid(-pgid)). Children of any origin count — started by fdkit, by java.lang.ProcessBuilder, or
     * having moved themselves into the group with setpgid — and grandchildren do not (they are not ours to wait
     * for, as with waitpid). Each is added as {@link #add} does, with a descriptor of its own (as
     * {@link ProcessDescriptor#open}); a child that is a member already is not added twice.
     * <p>
     * Membership is taken now. waitpid(-pgid) would also count a child that joins the group later, but no
     * notification tells when a process changes group; the children that can join it are the ones you start
     * next, so {@link #start} or {@link #add} them. A child already reaped by its owner is not a child any more,
     * as for waitpid. The exit status of a child whose owner (the JDK's reaper, or the fdkit descriptor that
     * started it) reaps it first is known where the kernel publishes it (Linux 6.15+, PIDFD_INFO_EXIT), and
     * {@link ExitStatus.Kind#UNKNOWN} with the reason otherwise, as for {@link ProcessDescriptor#open}.
     *
     * @param pgid the process group id: {@code ProcessHandle.current()}'s group for the children started
     *             without a group of their own, or a child's pid if it was started with
     *             {@link SpawnOption#NEW_PROCESS_GROUP} or {@link SpawnOption#NEW_SESSION}
     * @return the members added, in no particular order; empty if no child of ours is in the group (where
     *         waitpid would fail with ECHILD)
     * @throws IllegalArgumentException if {@code pgid} is not between 1 and {@link Integer#MAX_VALUE}
     * @throws IllegalStateException    if the set is closed
     * @throws IOException              if opening a pidfd fails for another reason than the child having gone
     */
    public List<ProcessDescriptor> addGroup(long pgid) throws IOException {
        if (pgid <= 0 || pgid > Integer.MAX_VALUE) throw new IllegalArgumentException("pgid must be between 1 and " + Integer.MAX_VALUE + ", was " + pgid);
        ensureOpen();
        List<ProcessDescriptor> added = new ArrayList<>();
        for (int pid : ProcessTree.childrenOf(SELF)) {
            if (!inGroup(pid, pgid) || isMember(pid)) continue;
            ProcessDescriptor child;
            try {
                child = ProcessDescriptor.open(pid);
            } catch (ErrnoException e) {
                if (e.errno() == Errno.ESRCH) continue; // reaped since the listing
                throw e;
            }
            // The pid may have been reaped and reused between the listing and the open. Still alive now, it has
            // been this child all along (so inGroup read it); exited, it is ours if inGroup saw it a zombie.
            String state = ProcStat.field(pid, 3);
            if (!inGroup(pid, pgid) || !(child.isAlive() || "Z".equals(state))) {
                child.close();
                continue;
            }
            try {
                added.add(add(child));
            } catch (RuntimeException e) { // closed meanwhile, or added by another thread: not ours to keep
                child.close();
                if (e instanceof IllegalStateException) throw e;
            }
        }
        return added;
    }

    private static final int SELF = (int) ProcessHandle.current().pid();

    /** Our child (unreaped) in group {@code pgid}, by /proc/PID/stat: field 4 is the parent, 5 the group. */
    private static boolean inGroup(int pid, long pgid) {
        return Integer.toString(SELF).equals(ProcStat.field(pid, 4)) && Long.toString(pgid).equals(ProcStat.field(pid, 5));
    }

    private boolean isMember(int pid) {
        synchronized (lock) {
            for (ProcessDescriptor m : members) if (m.pid() == pid) return true;
        }
        return false;
    }

    /**
     * Members whose exit has not been taken yet (running, or exited and pending), in the order they were added.
     *
     * @return a snapshot of the members
     */
    public List<ProcessDescriptor> members() {
        synchronized (lock) {
            return List.copyOf(members);
        }
    }

    /**
     * How many members there are: {@code members().size()} without the copy.
     *
     * @return the number of members whose exit has not been taken yet
     */
    public int size() {
        synchronized (lock) {
            return members.size();
        }
    }

    /** Exits known and not yet taken. */
    int pending() {
        synchronized (lock) {
            return pending.size();
        }
    }

    /** The eventfd that is readable exactly while an exit is pending. */
    @Override
    public int fd() {
        ensureOpen();
        return readiness.fd();
    }

    /** For the Poller: registrations of the set follow the eventfd's lifetime (cancelled when the set closes). */
    Fd descriptor() {
        return readiness.descriptor();
    }

    /**
     * The next pending exit, never blocking.
     *
     * @return the exit, taken from the set; empty if none is pending or the set is closed
     */
    public Optional<ExitEvent> poll() {
        synchronized (lock) {
            return Optional.ofNullable(take());
        }
    }

    /**
     * The next exit, waiting at most {@code timeout} for one (zero or negative: does not wait). Parks in Java.
     *
     * @param timeout how long to wait at most; zero or negative: do not wait
     * @return empty on timeout, or once the set is closed
     * @throws InterruptedException if interrupted while waiting; no exit is taken then
     */
    public Optional<ExitEvent> awaitAny(Duration timeout) throws InterruptedException {
        long nanos = Durations.timeoutNanos(timeout, "timeout");
        long deadline = Durations.deadline(System.nanoTime(), nanos);
        for (;;) {
            CompletableFuture<Void> next;
            synchronized (lock) {
                ExitEvent event = take();
                if (event != null || closed) return Optional.ofNullable(event);
                if (arrival == null) arrival = new PollerSafeFuture<>(); // its get() hands the shared poller's loop on first
                next = arrival;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) return Optional.empty();
            try {
                if (deadline == Long.MAX_VALUE) next.get();
                else next.get(left, TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                // look once more, then report the timeout
            } catch (ExecutionException e) {
                throw new AssertionError("arrival is only ever completed normally", e);
            }
        }
    }

    /**
     * The exits as a publisher with back-pressure: each request(n) lets n pending exits through, and exits
     * wait in the queue while there is no demand. onNext runs on the thread that calls request or on the shared
     * poller's thread (where an exit becomes known): keep it short, or hand the work on. After close() the
     * subscriber gets onComplete. One subscriber for the set's life: a later one gets onError.
     * @return the publisher of this set's exits
     */
    public Flow.Publisher<ExitEvent> exits() {
        return this::subscribe;
    }

    /** {@link #close()}, after SIGKILL to every member and waiting until fdkit's children among them are reaped. */
    public void closeAndKill() {
        List<ProcessDescriptor> all = shutdown();
        if (all == null) return;
        for (ProcessDescriptor p : all) p.killForClose();
        for (ProcessDescriptor p : all) {
            if (p.isChild()) p.onExit().exceptionally(failure -> null).join(); // SIGKILL cannot be caught: prompt
        }
        finishClose(all);
    }

    /** Stops reporting and closes every member's descriptor, leaving the processes running (see the class comment). Idempotent. */
    @Override
    public void close() {
        List<ProcessDescriptor> all = shutdown();
        if (all != null) finishClose(all);
    }

    /** Marks the set closed and takes its members; null if it was closed already. */
    private List<ProcessDescriptor> shutdown() {
        List<ProcessDescriptor> all;
        synchronized (lock) {
            if (closed) return null;
            closed = true; // from now on nothing touches the eventfd: exited() drops, take() finds nothing
            all = new ArrayList<>(members);
            members.clear();
            pending.clear();
            if (arrival != null) arrival.complete(null);
            arrival = null;
        }
        // Not under the lock: this cancels the set's registrations on any Poller, waiting for a handler that is
        // running, and that handler may be calling poll() on this set.
        readiness.close();
        return all;
    }

    private void finishClose(List<ProcessDescriptor> all) {
        for (ProcessDescriptor p : all) p.close();
        Subscription s;
        synchronized (lock) {
            s = subscription;
        }
        if (s != null) s.drain();
    }

    @Override
    public String toString() {
        synchronized (lock) {
            return "ProcessSet(members=" + members.size() + ", pending=" + pending.size() + (closed ? ", closed)" : ")");
        }
    }

    // ------------------------------------------------------------------ the queue

    private void ensureOpen() {
        synchronized (lock) {
            if (closed) throw new IllegalStateException("ProcessSet is closed");
        }
    }

    /** A member's exit is known: queue it, set the descriptor on the first one, wake waiters and the subscriber. */
    private void exited(ProcessDescriptor process, ExitStatus status) {
        Subscription s;
        synchronized (lock) {
            if (closed || !members.contains(process)) return; // closed: dropped with the rest
            pending.add(new ExitEvent(process, status));
            if (pending.size() == 1) readiness.trySignal(1); // counter 0 here: never full
            if (arrival != null) arrival.complete(null);
            arrival = null;
            s = subscription;
        }
        if (s != null) s.drain();
    }

    /** Under lock: the next event, clearing the descriptor with the last one. */
    private ExitEvent take() {
        ExitEvent event = pending.poll();
        if (event == null) return null;
        members.remove(event.process());
        if (pending.isEmpty()) readiness.tryReadValue();
        return event;
    }

    // ------------------------------------------------------------------ Flow.Publisher

    private void subscribe(Flow.Subscriber<? super ExitEvent> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        Subscription s = new Subscription(subscriber);
        boolean accepted;
        synchronized (lock) {
            accepted = subscription == null;
            if (accepted) subscription = s;
        }
        if (!accepted) {
            subscriber.onSubscribe(new Subscription(null)); // rule 1.9: onSubscribe before onError; inert
            subscriber.onError(new IllegalStateException("ProcessSet.exits() has a subscriber already; it takes one"));
            return;
        }
        subscriber.onSubscribe(s);
        s.started = true; // no onNext overlaps onSubscribe (rule 1.3)
        s.drain();
    }

    /**
     * Signals go out one at a time: whoever raises {@code work} from 0 delivers, and loops while others raised it
     * meanwhile (a request from inside onNext, an exit on the poller thread), so no thread ever waits for another.
     */
    private final class Subscription implements Flow.Subscription {
        private volatile Flow.Subscriber<? super ExitEvent> subscriber; // dropped at cancel and terminal (rule 3.13)
        private final AtomicLong demand = new AtomicLong();
        private final AtomicInteger work = new AtomicInteger();
        private volatile Throwable error;
        private volatile boolean started;

        Subscription(Flow.Subscriber<? super ExitEvent> subscriber) {
            this.subscriber = subscriber;
        }

        @Override
        public void request(long n) {
            if (n <= 0) error = new IllegalArgumentException("request(n) needs n > 0, was " + n + " (Reactive Streams rule 3.9)");
            else demand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
            drain();
        }

        @Override
        public void cancel() {
            subscriber = null; // pending exits stay queued for poll() and awaitAny
        }

        void drain() {
            if (!started || work.getAndIncrement() != 0) return;
            int missed = 1;
            do {
                Flow.Subscriber<? super ExitEvent> s;
                while ((s = subscriber) != null && error == null && demand.get() > 0) {
                    ExitEvent event;
                    synchronized (lock) {
                        event = take();
                    }
                    if (event == null) break;
                    demand.decrementAndGet();
                    s.onNext(event);
                }
                s = subscriber;
                if (s != null) {
                    boolean ended;
                    synchronized (lock) {
                        ended = closed && pending.isEmpty();
                    }
                    if (error != null || ended) {
                        subscriber = null; // nothing follows a terminal signal (rule 1.7)
                        if (error != null) s.onError(error);
                        else s.onComplete();
                    }
                }
                missed = work.addAndGet(-missed);
            } while (missed != 0);
        }
    }
}
