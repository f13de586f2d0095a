package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.Uapi;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A process held through a pidfd: spawned by fdkit ({@link #start}, {@link #spawn}) or opened on any
 * existing process, child or not ({@link #open}, {@link #of}).
 * <p>
 * Exit is noticed by the shared {@link Poller}'s one thread when the pidfd becomes readable — never a
 * thread per process, and never from pipe EOF, so a grandchild holding a pipe open does not delay
 * {@link #onExit()} ({@link #waitFor()} on a platform thread also waits on our child's pidfd itself).
 * Children are reaped by fdkit with their exact status and resource usage, also when their descriptor is
 * closed or dropped first: no zombies. Signals go through pidfd_send_signal, so they
 * never reach a recycled pid.
 * <p>
 * For code that takes a {@link Process}, {@link #asProcess()} is this process as one, with the JDK's conventions.
 * <p>
 * Callbacks attached to {@link #onExit()} with the non-async CompletableFuture methods run on the poller
 * thread: keep them short, or use the *Async variants. They may call blocking fdkit methods
 * ({@code other.waitFor()}, {@code other.onExit().join()}): the poller hands its loop to another thread
 * meanwhile (see {@link Poller}).
 * <p>
 * Without pidfds (kernel before 5.3, or a seccomp profile that answers ENOSYS/EPERM; forced with
 * {@code -Dfdkit.disable=pidfd_open}) children are watched by one fdkit-reaper thread that polls
 * waitid(WNOHANG) every few milliseconds; signals to children are sent with kill(2) under the same lock
 * that reaps, so never to a recycled pid. Processes that are not our children can then be watched but not
 * signalled ({@link #signal} throws UnsupportedOperationException): without a pidfd that cannot be made
 * race-free. Where pidfd_open works but waitid(P_PIDFD) (Linux 5.3) or pidfd_send_signal does not, children
 * are reaped by pid and signalled with kill(2) under that lock, and other processes are not signalled.
 * <p>
 * (For maintainers: this class is the public API and its documentation, which is most of its length; each
 * method delegates to one package-private class with one job: {@code ExitWatch} the exit, {@code Signaller}
 * signals, {@code ProcessStarter} spawning, {@code ProcessOpener} opening, {@code ChildPipes} the streams,
 * {@code ProcessClose} closing.)
 */
public final class ProcessDescriptor implements Descriptors.Owned, AutoCloseable {
    private final ExitWatch watch;
    private final Signaller signals;
    private final ChildPipes pipes;
    private final ProcessClose closing;
    private final ControlGroup cgroup; // SpawnOption.NEW_CGROUP, else null
    private final Cleaner.Cleanable cleanable;
    private ProcessView view; // guarded by this; made by the first asProcess()

    /** The parts, none of which refers back here: the Cleaner closes a dropped descriptor as close() would. */
    ProcessDescriptor(ExitWatch watch, ChildPipes pipes, boolean killOnClose, boolean leadsGroup) {
        this(watch, pipes, killOnClose, leadsGroup, null);
    }

    ProcessDescriptor(ExitWatch watch, ChildPipes pipes, boolean killOnClose, boolean leadsGroup, ControlGroup cgroup) {
        this.cgroup = cgroup;
        this.watch = watch;
        this.pipes = pipes;
        this.signals = new Signaller(watch, leadsGroup);
        this.closing = new ProcessClose(watch, pipes, signals, killOnClose);
        if (killOnClose) KillOnExit.add(signals, watch.exit());
        this.cleanable = Fd.cleaner().register(this, closing);
    }

    // ------------------------------------------------------------------ starting and opening

    /**
     * Starts {@code builder.command()} the way {@link ProcessBuilder#start()} would — command, directory,
     * environment, every redirect kind and redirectErrorStream — through posix_spawnp, with the child's
     * signal mask emptied and all dispositions reset to default.
     *
     * @throws IOException              if a redirect file cannot be opened, or the program cannot be
     *                                  executed (ENOENT, EACCES, ENOEXEC...), naming the program
     * @throws IllegalArgumentException for an empty command or a NUL character in any string
     * @param builder what to run, where, with which environment and redirects (read, never changed)
     * @param options spawn options beyond ProcessBuilder's; none, or each at most once
     * @return the descriptor of the running child, watched from birth so that it is always reaped
     */
    public static ProcessDescriptor start(ProcessBuilder builder, SpawnOption... options) throws IOException {
        Objects.requireNonNull(builder, "builder");
        return ProcessStarter.start(builder, ProcessStarter.optionSet(options), new Stdio());
    }

    /**
     * Starts a pipeline, as {@link ProcessBuilder#startPipeline(List)} does: each process's stdout is the next
     * one's stdin through a pipe that only the two children hold (created close-on-exec, handed to posix_spawn
     * and closed here right after), so no thread of ours copies bytes. The first builder's stdin redirect, the
     * last one's stdout redirect and every stderr redirect (redirectErrorStream of an intermediate builder
     * sends its stderr down the pipe too) are honoured; {@code options} apply to every process.
     * <p>
     * If a process cannot be started, those already started are killed and reaped, every pipe is closed,
     * and the failure is thrown.
     *
     * @param builders the stages, first to last; at least one
     * @param options  spawn options for every stage
     * @return one descriptor per builder, in order; {@code stdout()} of all but the last, and {@code stdin()} of
     *         all but the first, are not pipes of ours
     * @throws IllegalArgumentException as the JDK: if any builder but the first redirects stdin, or any builder
     *                                  but the last redirects stdout, to other than {@link ProcessBuilder.Redirect#PIPE}
     * @throws IOException              as {@link #start}, for the process that failed
     */
    public static List<ProcessDescriptor> startPipeline(List<ProcessBuilder> builders, SpawnOption... options) throws IOException {
        Objects.requireNonNull(builders, "builders");
        return ProcessStarter.startPipeline(builders, ProcessStarter.optionSet(options));
    }

    /**
     * Starts {@code argv} with the caller's stdin, stdout and stderr inherited.
     *
     * @param argv the program (searched on PATH) and its arguments
     * @return the descriptor of the running child
     * @throws IOException as {@link #start}: the program cannot be executed
     */
    public static ProcessDescriptor spawn(String... argv) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(Objects.requireNonNull(argv, "argv")).inheritIO();
        return ProcessStarter.start(builder, true, ProcessStarter.NO_OPTIONS, new Stdio());
    }

    /**
     * A descriptor on any existing process — ours or not, as lmkd-style watchdogs need. Its exit code is
     * known for our children, and for other processes where the kernel has PIDFD_INFO_EXIT (6.15+);
     * otherwise {@link #onExit()} completes with an {@link ExitStatus.Kind#UNKNOWN} status saying why.
     *
     * @throws IllegalArgumentException if pid is not positive or beyond the pid range
     * @throws ErrnoException           ESRCH if no such process exists; for the id of a thread that is not its
     *                                  process's main thread, the errno of the failed call with a message saying
     *                                  so and naming the process
     * @param pid the process id: a process (thread-group leader), ours or not
     * @return a descriptor watching it; close it to let go of its pidfd
     */
    public static ProcessDescriptor open(long pid) throws IOException {
        return new ProcessDescriptor(ProcessOpener.open(pid), ChildPipes.NONE, false, false);
    }

    /**
     * {@link #open(long)} for a ProcessHandle (for example a java.lang.Process's).
     *
     * @param handle the process
     * @return a descriptor watching it
     * @throws IOException as {@link #open(long)}: ESRCH once it has been reaped
     */
    public static ProcessDescriptor of(ProcessHandle handle) throws IOException {
        return open(Objects.requireNonNull(handle, "handle").pid());
    }

    // ------------------------------------------------------------------ identity and state

    /**
     * The process id.
     *
     * @return the pid: it names this process for as long as this descriptor holds the pidfd
     */
    public long pid() {
        return watch.pid;
    }

    /**
     * Whether fdkit spawned this process, and so reaps it and knows its resource usage.
     *
     * @return true for a child fdkit started
     */
    public boolean isChild() {
        return watch.child;
    }

    /** The pidfd: readable once the process has exited. */
    @Override
    public int fd() {
        return Descriptors.number(descriptor());
    }

    Fd descriptor() {
        Pidfd pidfd = watch.pidfd();
        if (pidfd == null) throw new UnsupportedOperationException("no pidfd: " + Linux.feature(Feature.PIDFD_OPEN).cause());
        return pidfd.fd;
    }

    /**
     * False once the process has exited (whether or not it has been reaped yet).
     *
     * @throws IllegalStateException if this descriptor on a process that is not our child was closed before its
     *                               exit was known: with the pidfd gone, whether it lives can no longer be told
     *                               race-free (its pid may name another process by now)
     * @return true until the process has exited
     */
    public boolean isAlive() {
        try {
            return watch.isAlive();
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
    }

    /**
     * Completes with the exit status when the process exits, from the poller thread.
     *
     * @return a future for the exit; completing or cancelling it does not affect the descriptor
     */
    public CompletableFuture<ExitStatus> onExit() {
        watch.watch();
        return watch.exit().copy(); // callers cannot complete or cancel the real one
    }

    /**
     * Waits for exit. On a platform thread, for our child, the thread blocks in poll(2) on the pidfd and reaps
     * the child itself when it exits, as the JDK's waitFor does (one wake-up; onExit() still completes with the
     * same status); it looks at its interrupt status every 50 ms, so an interrupt is seen within about that.
     * Virtual threads, and waits for a process that is not our child, park in Java until the shared poller sees
     * the exit. Safe in callbacks on the shared poller's thread: the poller hands its loop on first.
     * <p>
     * After {@link #close()}: our child's exit is still reaped and returned. For a process that is not our
     * child, close() ends the watch, so a wait that is parked when close() runs, or starts after it, throws
     * IllegalStateException saying the descriptor was closed.
     *
     * @throws IllegalStateException if this descriptor on a process that is not our child is closed before
     *                               its exit is known
     * @return the exit status
     * @throws InterruptedException if interrupted while waiting; the status is not lost (wait again)
     */
    public ExitStatus waitFor() throws InterruptedException {
        try {
            return awaitExit(Long.MAX_VALUE);
        } catch (TimeoutException e) {
            throw new AssertionError("no timeout", e);
        }
    }

    /**
     * Waits at most {@code timeout}: the status, or empty if the process is still running. A zero or negative
     * timeout does not wait (as {@link Process#waitFor(long, TimeUnit)}). After close(), as {@link #waitFor()}.
     *
     * @throws IllegalStateException    if this descriptor on a process that is not our child is closed before
     *                                  its exit is known
     * @param timeout how long to wait at most; zero or negative: do not wait
     * @return the exit status, or empty if the process is still running
     * @throws InterruptedException if interrupted while waiting; the status is not lost (wait again)
     */
    public Optional<ExitStatus> waitFor(Duration timeout) throws InterruptedException {
        long nanos = Durations.timeoutNanos(timeout, "timeout"); // beyond 292 years: forever
        try {
            return Optional.of(awaitExit(nanos));
        } catch (TimeoutException e) {
            return Optional.empty(); // still running
        }
    }

    ExitStatus awaitExit(long nanos) throws InterruptedException, TimeoutException {
        return watch.await(nanos);
    }

    // ------------------------------------------------------------------ signals

    /**
     * Sends {@code signal} (0 only checks) through pidfd_send_signal: never to a recycled pid.
     *
     * @return true if sent, false if the process had already exited
     * @throws IllegalArgumentException      for a signal outside 0..64
     * @throws IllegalStateException         after close()
     * @throws UnsupportedOperationException without pidfds or pidfd_send_signal, for a process that is not our child
     * @param signal the signal number, 0 to 64 (0 only checks)
     */
    public boolean signal(int signal) {
        return signals.signal(signal);
    }

    /**
     * Sends SIGTERM, as {@link #signal(int)}.
     *
     * @return true if sent, false if the process had already exited
     */
    public boolean terminate() {
        return signal(Uapi.SIGTERM);
    }

    /**
     * Sends SIGKILL, as {@link #signal(int)}.
     *
     * @return true if sent, false if the process had already exited
     */
    public boolean kill() {
        return signal(Uapi.SIGKILL);
    }

    /**
     * Sends {@code signal} to every process in the process group this process leads — one started with
     * {@link SpawnOption#NEW_PROCESS_GROUP} or {@link SpawnOption#NEW_SESSION}, or any process whose group id
     * is its pid — including grandchildren that outlive it: how a build tool or supervisor ends a whole tree.
     * <p>
     * Never reaches a recycled group: on Linux 6.9+ ({@link Feature#PIDFD_SIGNAL_PROCESS_GROUP}) the signal
     * goes through the pidfd, which names this process's group for as long as any member lives, also after
     * the leader itself has exited and been reaped. On older kernels only our own children can be signalled
     * this way, with kill(-pid) under the lock that reaps them: until the leader is reaped its pid, and so
     * the group's id, cannot be reused; once it is reaped this returns false.
     *
     * @return true if at least one process was signalled; false if the group has no process left (or, on
     *         older kernels, the leader has been reaped)
     * @throws IllegalArgumentException      for a signal outside 0..64
     * @throws IllegalStateException         after close(), or if the process is alive and does not lead its
     *                                       process group (signalling the group it belongs to could reach
     *                                       this JVM)
     * @throws UnsupportedOperationException before Linux 6.9 (or without pidfds) for a process that is not our child
     * @param signal the signal number, 0 to 64
     */
    public boolean signalProcessGroup(int signal) {
        return signals.signalGroup(signal);
    }

    /**
     * SIGKILL to the process group this process leads: {@link #signalProcessGroup(int)}.
     *
     * @return true if at least one process was signalled
     */
    public boolean killProcessGroup() {
        return signalProcessGroup(Uapi.SIGKILL);
    }

    /**
     * Sends {@code signal} to this process and every descendant, also those that left its process group or
     * session (setsid, daemonising): a tree walk over /proc/PID/task/TID/children, each process signalled
     * through its own pidfd, so never a recycled pid. The tree is first stopped with SIGSTOP, top-down as it is
     * walked, so that no process in it can start children the walk would miss; then each is sent
     * {@code signal}, deepest first, then SIGCONT (not after SIGKILL or SIGSTOP) so that it acts on it. The SIGCONT also
     * resumes processes that were stopped before, and discards a pending SIGTSTP, SIGTTIN or SIGTTOU.
     * <p>
     * A descendant whose parent exited before the walk was re-parented to init or a subreaper and cannot be
     * found from here: for trees that daemonise through an exiting parent, use a process group
     * ({@link SpawnOption#NEW_PROCESS_GROUP} and {@link #signalProcessGroup}) or a cgroup.
     *
     * @return how many processes were signalled; 0 if this process has already exited
     * @throws IllegalArgumentException      for a signal outside 0..64
     * @throws IllegalStateException         after close(), or if this JVM is in the tree
     * @throws UnsupportedOperationException without pidfd_open and pidfd_send_signal, or without /proc/PID/task/TID/children
     * @param signal the signal number, 0 to 64
     */
    public int signalTree(int signal) {
        return signals.signalTree(signal);
    }

    /**
     * SIGKILL to this process and all its descendants: {@link #signalTree(int)}.
     *
     * @return how many live processes were signalled; 0 if this one had already exited
     */
    public int killTree() {
        return signalTree(Uapi.SIGKILL);
    }

    /**
     * The fresh cgroup this child was started in with {@link SpawnOption#NEW_CGROUP}: kill the whole tree with
     * {@link ControlGroup#kill()}, know when it is gone from {@link ControlGroup#onEmpty()}. It outlives this
     * descriptor's close().
     *
     * @return the cgroup, or empty for a process started without NEW_CGROUP (or not started by fdkit)
     */
    public Optional<ControlGroup> controlGroup() {
        return Optional.ofNullable(cgroup);
    }

    // ------------------------------------------------------------------ descriptors of the process

    /**
     * Takes a copy of the process's descriptor {@code targetFd} with pidfd_getfd (Linux 5.6): the other side of
     * {@link SpawnOption#passDescriptor}, e.g. a supervisor taking a worker's listening socket for a hand-over
     * without downtime. The copy shares the open file description (offset, flags, socket state) with the
     * process's descriptor; it is close-on-exec, and the caller owns it: close it.
     * <p>
     * Needs ptrace access to the process (PTRACE_MODE_ATTACH_REALCREDS): the same user and a process that has
     * not made itself non-dumpable, or CAP_SYS_PTRACE; a Yama ptrace_scope of 1 also allows descendants only,
     * 3 nothing at all.
     *
     * @param targetFd the descriptor number in the process, 0 or more
     * @return the copy, owned by the caller
     * @throws IllegalArgumentException      if {@code targetFd} is negative
     * @throws ErrnoException                naming pidfd_getfd: EPERM without ptrace access, EBADF if the process
     *                                       has no descriptor {@code targetFd}, ESRCH once it has exited, ENOSYS
     *                                       before Linux 5.6
     * @throws IllegalStateException         after close()
     * @throws UnsupportedOperationException without pidfds
     */
    public OwnedDescriptor duplicateDescriptor(int targetFd) throws ErrnoException {
        if (targetFd < 0) throw new IllegalArgumentException("targetFd must be >= 0, was " + targetFd);
        watch.checkOpen();
        Fd pidfd = descriptor();
        int number = pidfd.acquire(); // IllegalStateException if close() won the race
        try {
            return new OwnedDescriptor(dev.fdkit.internal.Syscalls.pidfdGetfd(number, targetFd), "fd " + targetFd + " of pid " + watch.pid);
        } catch (SyscallException e) {
            throw ErrnoException.of(e);
        } finally {
            pidfd.release();
        }
    }

    // ------------------------------------------------------------------ streams

    /**
     * The child's stdin when redirected to PIPE. Otherwise, as java.lang.Process's: a stream whose writes throw
     * IOException("Stream closed"), since nothing would read them.
     * @return the stream to the child's stdin
     */
    public OutputStream stdin() {
        return pipes.stdin;
    }

    /**
     * The child's stdout when redirected to PIPE; otherwise, as java.lang.Process's, an empty stream (read
     * returns -1, available 0, also after close). Blocks through the poller.
     * @return the stream from the child's stdout
     */
    public InputStream stdout() {
        return pipes.stdout;
    }

    /**
     * The child's stderr when redirected to PIPE; otherwise an empty stream, as {@link #stdout()}.
     *
     * @return the stream from the child's stderr
     */
    public InputStream stderr() {
        return pipes.stderr;
    }

    /**
     * The child's stdout as chunks delivered by the poller thread, with back-pressure (a pipe that is
     * not requested from is not read). One subscriber; not together with {@link #stdout()}.
     * @return the publisher of the child's stdout
     */
    public Flow.Publisher<ByteBuffer> stdoutPublisher() {
        return pipes.stdoutPublisher();
    }

    /**
     * The child's stderr as a publisher, as {@link #stdoutPublisher()}.
     *
     * @return the publisher of the child's stderr
     */
    public Flow.Publisher<ByteBuffer> stderrPublisher() {
        return pipes.stderrPublisher();
    }

    // ------------------------------------------------------------------ java.lang.Process view

    /**
     * This process as a {@link Process}, for code that takes one: {@code ProcessDescriptor.start(pb).asProcess()}
     * instead of {@code pb.start()}. Backed by the pidfd and fdkit's pipes: no reaper thread, waits that park in
     * Java (fine on virtual threads), signals that never reach a recycled pid. It behaves as the JDK's Process:
     * <ul>
     * <li>{@code waitFor()}, {@code waitFor(timeout, unit)} (zero or negative: does not wait), {@code onExit()}
     *     (completes with the view once the exit is known), {@code exitValue()} (IllegalThreadStateException
     *     until then), {@code isAlive()} (false from exactly then on);</li>
     * <li>the exit value is the exit code, or 128 + signal for a process killed by a signal (the JDK's
     *     convention), or -1 when the kernel cannot tell (a process that is not our child, before Linux 6.15);</li>
     * <li>{@code destroy()} sends SIGTERM, {@code destroyForcibly()} SIGKILL, both then close the streams, as the
     *     JDK does: a thread blocked reading returns even if a grandchild still holds the pipe
     *     ({@code supportsNormalTermination()} is true);</li>
     * <li>{@code getInputStream()}, {@code getErrorStream()}, {@code getOutputStream()} are {@link #stdout()},
     *     {@link #stderr()}, {@link #stdin()}, unbuffered (a flush is never needed); the readers and writer of
     *     Process wrap them;</li>
     * <li>{@code toHandle()} (and so {@code info()}, {@code children()}, {@code descendants()}) is the
     *     ProcessHandle taken at the first asProcess() call, while the pid surely named this process; if it had
     *     exited and been reaped before, a handle of an exited process (not alive, no children, empty info),
     *     since its pid could already name another one.</li>
     * </ul>
     * The view keeps this descriptor reachable, so {@code start(pb).asProcess()} needs no other reference.
     * Closing the descriptor closes the view's streams too, and its destroy methods then throw
     * IllegalStateException, as {@link #signal} does. Each call returns the same view.
     * @return the java.lang.Process view of this descriptor
     */
    public synchronized Process asProcess() {
        if (view == null) {
            watch.watch(); // a process that is not our child is watched from now on
            view = new ProcessView(this, handleWhileItIsOurs());
        }
        return view;
    }

    /** A ProcessHandle on this process, or null if its pid may already name another one. */
    private ProcessHandle handleWhileItIsOurs() {
        if (watch.child) { // unreaped, the pid is still our child's (alive or a zombie)
            return watch.whileUnreaped(() -> null, pid -> ProcessHandle.of(pid).orElse(null));
        }
        // Not ours to hold: alive before and after the handle (with its start time) is taken means it names this process.
        if (!isAlive()) return null;
        ProcessHandle handle = ProcessHandle.of(watch.pid).orElse(null);
        return isAlive() ? handle : null;
    }

    /**
     * The exit status if known now, else null.
     *
     * @throws IllegalStateException if this descriptor on a process that is not our child was closed first
     */
    ExitStatus exitIfKnown() {
        CompletableFuture<ExitStatus> exit = watch.exit();
        return switch (exit.state()) {
            case SUCCESS -> exit.resultNow();
            case RUNNING -> null;
            case FAILED, CANCELLED -> throw watch.closedBeforeExit(null);
        };
    }

    /** SIGKILL as {@link SpawnOption#KILL_ON_CLOSE} sends it (the whole group it was started to lead): for ProcessSet.closeAndKill(). */
    void killForClose() {
        signals.killForClose();
    }

    /** Closes our ends of the child's pipes (not the pidfd): Process.destroy() does so. */
    void closePipes() {
        pipes.close();
    }

    // ------------------------------------------------------------------ closing

    /**
     * Closes the pidfd and our pipe ends. A child that is still running keeps being watched and is reaped
     * when it exits ({@link #onExit()} still completes); with {@link SpawnOption#KILL_ON_CLOSE} it is sent
     * SIGKILL first (its whole group with NEW_PROCESS_GROUP or NEW_SESSION). For a process that is not our
     * child, watching ends here: the pidfd is closed at once, and an {@link #onExit()} future not yet
     * completed fails with a CancellationException. Idempotent.
     * <p>
     * A descriptor dropped without close() is closed by a Cleaner once unreachable; a process that is not
     * our child then stays watched until it exits, so {@code open(pid).onExit().thenRun(..)} still works.
     */
    @Override
    public void close() {
        closing.close(true);
        cleanable.clean(); // the backstop: its action now finds the descriptor closed
    }

    @Override
    public String toString() {
        CompletableFuture<ExitStatus> exit = watch.exit();
        String state = exit.state() == java.util.concurrent.Future.State.SUCCESS ? ", " + exit.resultNow() : watch.isClosed() ? ", closed" : "";
        return "ProcessDescriptor(pid=" + watch.pid + (watch.child ? ", child" : "") + state + ")";
    }
}
