package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.SyscallException;

import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The exit watch of one process: one state word, changed only by the named transitions below, decides who
 * reaps our child (exactly one caller, once: its status is never lost and never reaped twice), who completes
 * the exit future, and when the watch lets go of the pidfd. It holds no reference to the ProcessDescriptor, so
 * a dropped descriptor becomes unreachable, and is cleaned, while its child is still watched and reaped.
 * <pre>
 *  state = phase | CLOSED
 *
 *  UNWATCHED --watch()--------------------------> WATCHING    by start() for a child (watched from birth: never a
 *     |        (refused once CLOSED:                          zombie); by onExit(), waitFor(), asProcess() for
 *     |         IllegalStateException "is closed")           other processes. Takes a use of the pidfd (its number
 *     |                                                       stays ours) and registers it ONE_SHOT on the shared
 *     |                                                       poller; without pidfds, joins the FallbackReaper
 *  WATCHING --exited(status)--------------------> EXITED      the look that saw the end, under the lock:
 *     |        our child: the poller (pidfd readable), a          waitid(WEXITED) reaps it (the one place)
 *     |          platform thread in waitFor (its own poll(2) of the pidfd, the poller registration taken
 *     |          out meanwhile and put back if it leaves first), or the fallback reaper (pollExit): whichever
 *     |          looks first
 *     |        another process: the poller (WNOWAIT, PIDFD_INFO_EXIT), the retry timer (PIDFD_INFO_EXIT once
 *     |          its parent has reaped it), the fallback reaper (its start time changed)
 *     |        then, outside the lock: the use of the pidfd released, the future completed (JFR event)
 *  WATCHING --close(byOwner) of another process--> ABANDONED  nothing to reap: the watch ends with the descriptor;
 *                                                             registration cancelled, use released, future
 *                                                             failed (CancellationException), outside the lock
 *  any      --close(byOwner or Cleaner)---------> same | CLOSED   once; a child's watch keeps its use, so the
 *                                                             pidfd's close(2) waits for the reap
 *  EXITED, ABANDONED: final. Signals are refused once CLOSED; kill(2) runs under the lock while not EXITED.
 * </pre>
 * Why one lock and not a CAS: the transitions carry syscalls that must be atomic with them. The reaping waitid
 * must not overlap kill(2) of the same pid (where pidfd_send_signal is missing, that is what keeps a signal from
 * a recycled pid), and the PIDFD_GET_INFO ioctl must not overlap close() letting go of the number. A CAS cannot
 * cover a syscall; the lock is uncontended but for those. The word is volatile, so that readers that need no
 * transition (isAlive's first look, toString, the closed check of signals) take no lock.
 * <p>
 * Never under the lock: completing the future (user callbacks run), cancelling the poller registration (it
 * waits for a handler running on the poller thread, which may be waiting for this lock), releasing the pidfd
 * use (its last release runs close hooks that cancel other registrations). Registering is done under it: the
 * shared poller's register never waits for a handler.
 */
final class ExitWatch implements FallbackReaper.Target {
    private static final int UNWATCHED = 0;
    private static final int WATCHING = 1;
    private static final int EXITED = 2;
    private static final int ABANDONED = 3;
    private static final int PHASE = 3;
    private static final int CLOSED = 4;

    final int pid;
    final boolean child;
    private final Pidfd pidfd; // null without pidfds: the fallback reaper watches by pid
    private final long startTicks; // without pidfds, for other processes: tells this one from a later one with its pid
    private final CompletableFuture<ExitStatus> exit = new PollerSafeFuture<>();
    private volatile int state; // written under this
    private Poller.Registration registration; // guarded by this; while WATCHING through the shared poller, unless a waiter took it
    private int waiters; // guarded by this: platform threads in pollPidfd, polling our child's pidfd themselves

    private ExitWatch(int pid, Pidfd pidfd, boolean child) {
        this.pid = pid;
        this.pidfd = pidfd;
        this.child = child;
        this.startTicks = pidfd == null && !child ? ExitProbe.startTicks(pid) : 0;
    }

    /** A child fdkit spawned: the caller watches it at once. */
    static ExitWatch ofChild(int pid, Pidfd pidfd) {
        return new ExitWatch(pid, pidfd, true);
    }

    /** Any other process, watched from the first onExit(), waitFor() or asProcess(). */
    static ExitWatch ofOther(int pid, Pidfd pidfd) {
        return new ExitWatch(pid, pidfd, false);
    }

    private int lvPhase() {
        return state & PHASE;
    }

    /** Under this: the phase changes, CLOSED stays. */
    private void soPhase(int phase) {
        state = (state & CLOSED) | phase;
    }

    /** The pidfd, or null without pidfds. */
    Pidfd pidfd() {
        return pidfd;
    }

    /** The real exit future: completed by this class alone. */
    CompletableFuture<ExitStatus> exit() {
        return exit;
    }

    boolean isClosed() {
        return (state & CLOSED) != 0;
    }

    /** True once the exit is known (for our child: reaped). */
    boolean exitKnown() {
        return lvPhase() == EXITED;
    }

    void checkOpen() {
        if (isClosed()) throw closedException();
    }

    IllegalStateException closedException() {
        return new IllegalStateException("ProcessDescriptor(pid=" + pid + ") is closed");
    }

    IllegalStateException closedBeforeExit(Throwable cause) {
        return new IllegalStateException("ProcessDescriptor(pid=" + pid + ") was closed before the process exited", cause);
    }

    // ------------------------------------------------------------------ UNWATCHED -> WATCHING

    synchronized void watch() {
        if (lvPhase() != UNWATCHED) return;
        checkOpen();
        if (pidfd == null) {
            FallbackReaper.watch(this); // its loop calls pollExit, which waits for this lock
            soPhase(WATCHING);
            return;
        }
        int number = pidfd.fd.acquire(); // held until the exit is known: the number stays ours meanwhile
        try {
            registration = registerOnPoller(number);
        } catch (RuntimeException e) {
            pidfd.fd.release();
            throw e;
        }
        soPhase(WATCHING);
    }

    /** Under this: the pidfd ({@code number}, the watch's use) ONE_SHOT on the shared poller. */
    private Poller.Registration registerOnPoller(int number) {
        Pollable raw = new WatchedPidfd(number, pid); // foreign: closing the descriptor must not stop the watch
        return Poller.shared().register(raw, Poller.READABLE, Poller.Trigger.ONE_SHOT, (r, events) -> onPidfdReadable(r, number));
    }

    // ------------------------------------------------------------------ WATCHING -> EXITED

    /** On the poller thread: the pidfd is readable, the process has exited. */
    private void onPidfdReadable(Poller.Registration r, int number) {
        long seenAt = System.nanoTime();
        ExitProbe.Result look = lookAtReadable(number);
        if (look == null) return; // exited through a waiter, who cancels the registration; or abandoned: close() does
        switch (look) {
            case ExitProbe.Pending.STILL_RUNNING -> rearm(r);
            case ExitProbe.Pending.NOT_YET_PUBLISHED -> {
                r.cancel();
                retryExitInfo(number, 0, seenAt);
            }
            case ExitProbe.Exited e -> {
                r.cancel();
                finish(e.status(), seenAt);
            }
        }
    }

    /** A spurious readiness: watch on, unless a waiter took the registration meanwhile (it watches, then registers anew). */
    private static void rearm(Poller.Registration r) {
        try {
            r.rearm();
        } catch (IllegalStateException cancelled) {
            // cancelled by a waiter that polls the pidfd itself (standIn): nothing of ours to re-arm
        }
    }

    /**
     * The one look at a readable pidfd, under the lock while WATCHING (null otherwise): our child reaped, another
     * process looked at (WNOWAIT, PIDFD_INFO_EXIT); WATCHING -> EXITED if it saw the end.
     */
    private synchronized ExitProbe.Result lookAtReadable(int number) {
        if (lvPhase() != WATCHING) return null;
        ExitProbe.Result look = ExitProbe.orUnknown("waiting", () -> child ? ExitProbe.reapChild(pid, number) : ExitProbe.otherExited(number));
        if (look instanceof ExitProbe.Exited) soPhase(EXITED);
        return look;
    }

    /**
     * Not our child: the pidfd is readable at exit, but PIDFD_INFO_EXIT appears only once the parent has reaped
     * it. Ask again with growing delays (about 4 s in all), on the JDK's shared delay scheduler, then give up
     * with UNKNOWN. The ioctl runs under the lock while WATCHING: the watch's use keeps the number ours, and
     * close() lets go of it only after leaving WATCHING. A descriptor dropped without close() keeps its use:
     * its process stays watched, as ProcessDescriptor promises.
     */
    private void retryExitInfo(int number, int attempt, long seenAt) {
        long delayMillis = Math.min(1L << attempt, 500);
        CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS).execute(() -> {
            ExitProbe.Result look;
            synchronized (this) {
                if (lvPhase() != WATCHING) return;
                look = ExitProbe.orUnknown("PIDFD_GET_INFO", () -> ExitProbe.exitInfo(number));
                if (look == ExitProbe.Pending.NOT_YET_PUBLISHED && attempt == 15) {
                    look = new ExitProbe.Exited(ExitStatus.unknown("exited, but its parent has not reaped it"));
                }
                if (look instanceof ExitProbe.Exited) soPhase(EXITED);
            }
            if (look instanceof ExitProbe.Exited e) finish(e.status(), seenAt);
            else retryExitInfo(number, attempt + 1, seenAt);
        });
    }

    /** The fallback reaper's look (no pidfds): our child is reaped by pid, another process told by its start time. */
    @Override
    public boolean pollExit() {
        ExitStatus status;
        Poller.Registration r; // with pidfds, only if a waiter's standDown registered again after handing it to the reaper
        synchronized (this) {
            if (lvPhase() != WATCHING) return true; // exited (a reaper thread that handed the loop on completes it) or abandoned
            ExitProbe.Result look = ExitProbe.orUnknown("waiting", () -> child ? ExitProbe.reapChild(pid, -1) : ExitProbe.otherByStartTime(pid, startTicks));
            if (!(look instanceof ExitProbe.Exited e)) return false;
            status = e.status();
            soPhase(EXITED);
            r = registration;
        }
        if (r != null) r.cancel();
        finish(status, System.nanoTime());
        return true;
    }

    /** After WATCHING -> EXITED, outside the lock: the watch lets go of the pidfd first, so that close() after waitFor() closes it at once. */
    private void finish(ExitStatus status, long seenAtNanos) {
        if (pidfd != null) pidfd.fd.release();
        exit.complete(status);
        if (!FdkitEvents.recorderStarted()) return;
        FdkitEvents.ProcessExited event = new FdkitEvents.ProcessExited();
        if (event.shouldCommit()) {
            event.pid = pid;
            event.status = status.toString();
            event.exitCode = status.kind() == ExitStatus.Kind.EXITED ? status.code() : -1;
            event.notificationLatency = System.nanoTime() - seenAtNanos;
            event.commit();
        }
    }

    // ------------------------------------------------------------------ waiting: waitFor()

    /**
     * How long a platform thread blocks in poll(2) on the pidfd before it looks at its interrupt status: the
     * latency of Thread.interrupt() during waitFor(), which poll(2) does not see. Java offers no hook to wake
     * it sooner without internal API; one slice costs one wake-up per 50 ms of a long wait.
     */
    static final int INTERRUPT_CHECK_MILLIS = 50;

    /**
     * waitFor(): the exit status, waiting at most {@code nanos} (Long.MAX_VALUE: forever). One path per case:
     * <ul>
     * <li>our child, with a pidfd, on a platform thread: the caller blocks in poll(2) on the pidfd itself, in
     *     slices of {@link #INTERRUPT_CHECK_MILLIS}, and when it is readable makes the WATCHING -> EXITED look
     *     itself ({@link #takeExit}): one wake-up, the kernel's, instead of the poller's and then the waiter's.
     *     It holds a use of the pidfd meanwhile, so close() cannot let go of the number under the poll;</li>
     * <li>everything else parks on the exit future: virtual threads (poll(2) would pin the carrier), processes
     *     that are not our child (there is nothing to reap; their look may need the poller's PIDFD_INFO_EXIT
     *     retries), no pidfds (the fallback reaper looks), a descriptor already closed (the watch reaps it).</li>
     * </ul>
     * The first path also ends on the future: at once if it made the transition or another looker did (the
     * future completes right after), else for what is left of the wait, through the poller.
     *
     * @throws TimeoutException         if the process is still running after {@code nanos}
     * @throws IllegalStateException    if close() ended the watch of a process that is not our child
     */
    ExitStatus await(long nanos) throws InterruptedException, TimeoutException {
        watch();
        long deadline = Durations.deadline(System.nanoTime(), nanos);
        if (child && pidfd != null && !exit.isDone() && !Thread.currentThread().isVirtual()) {
            int number = pidfd.fd.tryAcquire();
            if (number >= 0) {
                try {
                    pollPidfd(number, deadline);
                } finally {
                    pidfd.fd.release();
                }
            }
        }
        try {
            return nanos == Long.MAX_VALUE ? exit.get() : exit.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        } catch (CancellationException e) { // close() ended the watch of a process that is not our child
            throw closedBeforeExit(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * Blocks in poll(2) on our child's pidfd until the watch has left WATCHING (this thread's look, or another's),
     * the deadline has passed, or the look finds nothing although the pidfd is readable (left to the poller).
     */
    private void pollPidfd(int number, long deadline) throws InterruptedException {
        SharedLoop.beforeBlocking(); // on the shared poller's loop thread: hand the loop on before blocking it
        Poller.Registration taken = standIn();
        try {
            if (taken != null) taken.cancel(); // outside the lock: it waits for a handler that may wait for the lock
            pollUntilExit(number, deadline);
        } finally {
            standDown(number);
        }
    }

    /**
     * Under this, as a platform thread starts polling our child's pidfd itself: the first such waiter takes the
     * poller registration out (returned, for the caller to cancel), so that the exit wakes this thread alone, not
     * the poller too, which would only find the waiter's look done or contend with it for this lock. Null if
     * another waiter has it already, or the watch has left WATCHING.
     */
    private synchronized Poller.Registration standIn() {
        if (waiters++ > 0 || lvPhase() != WATCHING) return null; // counted either way: standDown counts every waiter out
        Poller.Registration r = registration;
        registration = null;
        return r;
    }

    /**
     * Under this, as a waiter stops polling: the last one to leave while the watch is still WATCHING (timeout,
     * interrupt, poll failure) puts the pidfd back on the poller, so the child stays watched from birth to reap.
     * If that fails (ENOMEM) the fallback reaper looks at it instead, by pid: it is never left unwatched.
     */
    private synchronized void standDown(int number) {
        if (--waiters > 0 || lvPhase() != WATCHING || registration != null) return;
        try {
            registration = registerOnPoller(number);
        } catch (RuntimeException e) {
            FallbackReaper.watch(this);
        }
    }

    private void pollUntilExit(int number, long deadline) throws InterruptedException {
        while (lvPhase() == WATCHING) {
            if (Thread.interrupted()) throw new InterruptedException();
            long remaining = deadline - System.nanoTime();
            int millis = remaining >= INTERRUPT_CHECK_MILLIS * 1_000_000L ? INTERRUPT_CHECK_MILLIS
                    : (int) Math.max(0, (remaining + 999_999) / 1_000_000);
            boolean readable;
            try {
                readable = Pidfd.awaitExited(number, millis);
            } catch (SyscallException e) {
                return; // poll(2) failed (ENOMEM): the poller's look still comes
            }
            if (readable) {
                takeExit(number);
                return;
            }
            if (millis == 0 || deadline - System.nanoTime() <= 0) return;
        }
    }

    /**
     * A waiter saw our child's pidfd readable: the same look as the poller's, under the lock. If it made the
     * transition, it cancels the poller registration (its handler, if it runs now, finds EXITED and returns) while
     * the watch's use still keeps the number ours, then finishes as the poller would.
     */
    private void takeExit(int number) {
        long seenAt = System.nanoTime();
        ExitProbe.Result look;
        Poller.Registration r;
        synchronized (this) {
            look = lookAtReadable(number);
            r = registration;
        }
        if (look instanceof ExitProbe.Exited e) {
            if (r != null) r.cancel(); // outside the lock: it waits for a handler that may wait for the lock
            finish(e.status(), seenAt);
        }
    }

    // ------------------------------------------------------------------ CLOSED, WATCHING -> ABANDONED

    /**
     * Sets CLOSED; false if it was already set. close() by the owner of a descriptor on another process also
     * ends its watch (a watchdog polling a long-lived process must not keep a pidfd and a registration per
     * round); the Cleaner's close does not, so that {@code open(pid).onExit().thenRun(..)} still works.
     */
    boolean close(boolean byOwner) {
        Poller.Registration r;
        synchronized (this) {
            int s = state;
            if ((s & CLOSED) != 0) return false;
            boolean abandon = byOwner && !child && (s & PHASE) == WATCHING;
            state = (abandon ? ABANDONED : s & PHASE) | CLOSED;
            if (!abandon) return true;
            r = registration;
        }
        if (pidfd == null) FallbackReaper.unwatch(this);
        if (r != null) r.cancel(); // waits for a handler running on the poller thread
        if (pidfd != null) pidfd.fd.release();
        exit.completeExceptionally(new CancellationException("ProcessDescriptor(pid=" + pid + ") was closed before the process exited"));
        return true;
    }

    // ------------------------------------------------------------------ reading the state

    /**
     * False once the process has exited. Throws for another process whose descriptor was closed before its
     * exit was known: without the pidfd, whether it lives can no longer be told (its pid may name another).
     */
    boolean isAlive() throws SyscallException {
        int s = state;
        if ((s & PHASE) == EXITED) return false;
        if (!child && (s & CLOSED) != 0) throw closedBeforeExit(null);
        if (pidfd != null) return pidfd.ifOpen(() -> !exitKnown(), number -> !Pidfd.exited(number));
        if (!child) return ExitProbe.startTicks(pid) == startTicks;
        return whileUnreaped(() -> false, ExitProbe::childRunning);
    }

    /**
     * Runs {@code use} with the pid under the lock while the process is not known to have exited. For our
     * child that means unreaped: its pid, and a group it leads, cannot be recycled meanwhile, which is how
     * kill(2) stays race-free without pidfd_send_signal.
     */
    synchronized <T, X extends Exception> T whileUnreaped(Supplier<T> ifReaped, Pidfd.IntUse<T, X> use) throws X {
        return lvPhase() == EXITED ? ifReaped.get() : use.apply(pid);
    }

    @Override
    public String toString() {
        return "exit watch of pid " + pid + ": " + switch (lvPhase()) {
            case UNWATCHED -> "unwatched";
            case WATCHING -> "watching";
            case EXITED -> "exited";
            default -> "abandoned";
        } + (isClosed() ? ", closed" : "");
    }

    /** The pidfd number the exit watch registers, named for diagnostics (JFR's PollerStall, logs). */
    private record WatchedPidfd(int fd, int pid) implements Pollable {
        @Override
        public String toString() {
            return "exit watch of pid " + pid + " (pidfd " + fd + ")";
        }
    }
}
