package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Errno;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.Spawner;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A process held through a pidfd: spawned by fdkit ({@link #start}, {@link #spawn}) or opened on any
 * existing process, child or not ({@link #open}, {@link #of}).
 * <p>
 * Exit is noticed by the shared {@link Poller}'s one thread when the pidfd becomes readable — never a
 * thread per process, and never from pipe EOF, so a grandchild holding a pipe open does not delay
 * {@link #onExit()}. Children are reaped by fdkit with their exact status and resource usage, also when
 * their descriptor is closed or dropped first: no zombies. Signals go through pidfd_send_signal, so they
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
 */
public final class ProcessDescriptor implements Descriptors.Owned, AutoCloseable {
    private static final ExitStatus STILL_RUNNING = null;

    private final Watch watch;
    private final Cleaner.Cleanable cleanable;
    private ProcessView view; // guarded by this; made by the first asProcess()

    private ProcessDescriptor(Watch watch) {
        this.watch = watch;
        this.cleanable = Fd.cleaner().register(this, watch); // backstop: a dropped descriptor is closed like close()
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
        return start(builder, optionSet(options), new Stdio());
    }

    private static EnumSet<SpawnOption> optionSet(SpawnOption... options) {
        Objects.requireNonNull(options, "options");
        EnumSet<SpawnOption> opts = EnumSet.noneOf(SpawnOption.class);
        for (int i = 0; i < options.length; i++) {
            if (options[i] == null) throw new NullPointerException("options[" + i + "] is null");
            opts.add(options[i]);
        }
        return opts;
    }

    /**
     * Starts {@code builder} with {@code stdio}, which may already hold pipeline ends for 0 and 1 (those
     * redirects are then not applied); every descriptor in {@code stdio} is closed here, whatever happens.
     */
    private static ProcessDescriptor start(ProcessBuilder builder, EnumSet<SpawnOption> opts, Stdio stdio) throws IOException {
        try {
            return spawnWith(builder, opts, stdio);
        } catch (SyscallException e) {
            stdio.closeAll();
            throw ErrnoException.of(e);
        } catch (IOException | RuntimeException e) {
            stdio.closeAll();
            throw e;
        }
    }

    private static ProcessDescriptor spawnWith(ProcessBuilder builder, EnumSet<SpawnOption> opts, Stdio stdio) throws IOException, SyscallException {
        List<String> command = builder.command();
        for (int i = 0; i < command.size(); i++) {
            if (command.get(i) == null) throw new NullPointerException("command[" + i + "] is null");
        }
        List<String> argv = List.copyOf(command);
        if (argv.isEmpty()) throw new IllegalArgumentException("command must not be empty");
        for (String arg : argv) checkNoNul(arg, "command");
        List<String> environment = environmentOf(builder);
        File dir = builder.directory();
        String directory = dir == null ? null : dir.getPath();
        if (directory != null) checkNoNul(directory, "directory");

        if (stdio.childFd[0] < 0) stdio.set(0, builder.redirectInput());
        if (stdio.childFd[1] < 0) stdio.set(1, builder.redirectOutput());
        if (builder.redirectErrorStream()) stdio.childFd[2] = stdio.childFd[1] >= 0 ? stdio.childFd[1] : 1;
        else stdio.set(2, builder.redirectError());
        boolean pidfd = Linux.has(Feature.PIDFD_OPEN);
        FdkitEvents.ProcessSpawned spawned = new FdkitEvents.ProcessSpawned();
        spawned.begin();
        Spawner.Child child = Spawner.spawn(new Spawner.Request(argv, environment, directory, stdio.childFd,
                opts.contains(SpawnOption.NEW_SESSION), opts.contains(SpawnOption.NEW_PROCESS_GROUP)), pidfd);
        if (spawned.shouldCommit()) {
            spawned.command = String.join(" ", argv);
            spawned.pid = child.pid();
            spawned.commit();
        }
        stdio.closeChildEnds();
        Watch watch = new Watch(child.pid(), child.pidfd() >= 0 ? new Fd(child.pidfd(), "ProcessDescriptor") : null,
                true, opts.contains(SpawnOption.KILL_ON_CLOSE), leadsGroup(opts), stdio.stdin(), stdio.stdout(), stdio.stderr());
        try {
            watch.watchChild();
            if (watch.killOnClose) KillOnExit.add(watch);
        } catch (RuntimeException e) { // unwatched, it would run unsupervised and end a zombie
            Spawner.killAndReap(child.pid(), e);
            if (watch.pidfd != null) watch.pidfd.close();
            throw e;
        }
        return new ProcessDescriptor(watch);
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
        EnumSet<SpawnOption> opts = optionSet(options);
        int last = builders.size() - 1;
        for (int i = 0; i <= last; i++) {
            ProcessBuilder builder = builders.get(i);
            if (builder == null) throw new NullPointerException("builders[" + i + "] is null");
            if (i > 0 && builder.redirectInput() != ProcessBuilder.Redirect.PIPE) {
                throw new IllegalArgumentException("builders[" + i + "].redirectInput() must be PIPE except for the first builder: " + builder.redirectInput());
            }
            if (i < last && builder.redirectOutput() != ProcessBuilder.Redirect.PIPE) {
                throw new IllegalArgumentException("builders[" + i + "].redirectOutput() must be PIPE except for the last builder: " + builder.redirectOutput());
            }
        }
        List<ProcessDescriptor> started = new ArrayList<>(builders.size());
        int nextStdin = -1; // read end of the pipe into the next process: ours until handed to its Stdio
        try {
            for (int i = 0; i <= last; i++) {
                Stdio stdio = new Stdio();
                int readEnd = -1;
                if (i < last) {
                    long ends = pipe2();
                    readEnd = (int) ends;
                    stdio.pipelineEnd(1, (int) (ends >>> 32));
                }
                if (nextStdin >= 0) stdio.pipelineEnd(0, nextStdin);
                nextStdin = readEnd;
                started.add(start(builders.get(i), opts, stdio)); // closes both ends it was given, also on failure
            }
            return started;
        } catch (IOException | RuntimeException e) {
            Stdio.closeQuietly(nextStdin);
            for (ProcessDescriptor p : started) {
                try (p) {
                    p.kill();
                    p.awaitExit(TimeUnit.SECONDS.toNanos(10)); // SIGKILL: prompt, unless the process is stuck in the kernel
                } catch (InterruptedException | TimeoutException | RuntimeException cleanup) {
                    if (cleanup instanceof InterruptedException) Thread.currentThread().interrupt();
                    e.addSuppressed(cleanup);
                }
            }
            throw e;
        }
    }

    private static boolean leadsGroup(EnumSet<SpawnOption> options) {
        return options.contains(SpawnOption.NEW_PROCESS_GROUP) || options.contains(SpawnOption.NEW_SESSION);
    }

    /**
     * Starts {@code argv} with the caller's stdin, stdout and stderr inherited.
     *
     * @param argv the program (searched on PATH) and its arguments
     * @return the descriptor of the running child
     * @throws IOException as {@link #start}: the program cannot be executed
     */
    public static ProcessDescriptor spawn(String... argv) throws IOException {
        return start(new ProcessBuilder(Objects.requireNonNull(argv, "argv")).inheritIO());
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
        if (pid <= 0 || pid > Integer.MAX_VALUE) throw new IllegalArgumentException("pid must be between 1 and " + Integer.MAX_VALUE + ", was " + pid);
        Fd pidfd = null;
        if (Linux.has(Feature.PIDFD_OPEN)) {
            try {
                pidfd = new Fd(Syscalls.pidfdOpen((int) pid, 0), "ProcessDescriptor");
            } catch (SyscallException e) {
                int process = processOfThread((int) pid);
                if (process < 0) throw ErrnoException.of(e);
                throw new ErrnoException("pidfd_open", threadNotProcess(pid, process), e.errno());
            }
        } else {
            int process = processOfThread((int) pid); // kill(2) accepts a thread id: it signals the thread's process
            if (process >= 0) throw new ErrnoException("kill", threadNotProcess(pid, process) + ", sig=0", Errno.ESRCH);
            if (!exists((int) pid)) throw new ErrnoException("kill", "pid=" + pid + ", sig=0", Errno.ESRCH);
        }
        return new ProcessDescriptor(new Watch((int) pid, pidfd, false, false, false, null, null, null));
    }

    private static long pipe2() throws ErrnoException {
        try {
            return Syscalls.pipe2(Uapi.O_CLOEXEC);
        } catch (SyscallException e) {
            throw ErrnoException.of(e);
        }
    }

    private static String threadNotProcess(long tid, int process) {
        return "pid=" + tid + ", which is a thread of process " + process + ", not a process: open(" + process + ") for the process";
    }

    /**
     * The process (thread group) that {@code tid} is a thread of, if it is not that process's main thread;
     * -1 for a process, or an id not found in /proc (ids of threads are there too, only not listed).
     */
    private static int processOfThread(int tid) {
        try {
            for (String line : java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/" + tid + "/status"))) {
                if (line.startsWith("Tgid:")) {
                    int tgid = Integer.parseInt(line.substring(5).trim());
                    return tgid != tid ? tgid : -1;
                }
            }
        } catch (IOException | RuntimeException gone) {
            // no such thread (any more), or /proc not mounted: nothing to add to the original error
        }
        return -1;
    }

    /** kill(pid, 0): EPERM means it exists but is not ours to signal. */
    private static boolean exists(int pid) throws ErrnoException {
        try {
            return Syscalls.kill(pid, 0);
        } catch (SyscallException e) {
            if (e.errno() == Errno.EPERM) return true;
            throw ErrnoException.of(e);
        }
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
        if (watch.pidfd == null) throw new UnsupportedOperationException("no pidfd: " + Linux.feature(Feature.PIDFD_OPEN).cause());
        return watch.pidfd;
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
        return watch.isAlive();
    }

    /**
     * Completes with the exit status when the process exits, from the poller thread.
     *
     * @return a future for the exit; completing or cancelling it does not affect the descriptor
     */
    public CompletableFuture<ExitStatus> onExit() {
        watch.ensureWatched();
        return watch.exit.copy(); // callers cannot complete or cancel the real one
    }

    /**
     * Waits for exit, parking in Java (safe on virtual threads, and in callbacks on the shared poller's thread).
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
            return Optional.ofNullable(STILL_RUNNING);
        }
    }

    private ExitStatus awaitExit(long nanos) throws InterruptedException, TimeoutException {
        watch.ensureWatched();
        try {
            return nanos == Long.MAX_VALUE ? watch.exit.get() : watch.exit.get(nanos, TimeUnit.NANOSECONDS);
        } catch (CancellationException e) { // stopWatchingNonChild(): close() ended the watch
            throw new IllegalStateException("ProcessDescriptor(pid=" + watch.pid + ") was closed before the process exited", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
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
        checkSignal(signal);
        return watch.signal(signal);
    }

    private static void checkSignal(int signal) {
        if (signal < 0 || signal > 64) throw new IllegalArgumentException("signal must be between 0 and 64, was " + signal);
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
        checkSignal(signal);
        return watch.signalGroup(signal);
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
        checkSignal(signal);
        if (watch.closed) throw new IllegalStateException("ProcessDescriptor(pid=" + watch.pid + ") is closed");
        if (watch.pidfd == null || !Linux.has(Feature.PIDFD_SEND_SIGNAL)) {
            Capability missing = Linux.feature(watch.pidfd == null ? Feature.PIDFD_OPEN : Feature.PIDFD_SEND_SIGNAL);
            throw new UnsupportedOperationException("cannot signal a process tree race-free without " + missing.feature().displayName()
                    + " (" + missing.cause() + ")");
        }
        int number = watch.pidfd.tryAcquire();
        if (number < 0) return 0; // closed, and the watch has let go: the process is gone
        try {
            return ProcessTree.signal(watch.pid, number, signal);
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        } finally {
            watch.pidfd.release();
        }
    }

    /**
     * SIGKILL to this process and all its descendants: {@link #signalTree(int)}.
     *
     * @return how many live processes were signalled; 0 if this one had already exited
     */
    public int killTree() {
        return signalTree(Uapi.SIGKILL);
    }

    // ------------------------------------------------------------------ streams

    /**
     * The child's stdin when redirected to PIPE. Otherwise, as java.lang.Process's: a stream whose writes throw
     * IOException("Stream closed"), since nothing would read them.
     * @return the stream to the child's stdin
     */
    public OutputStream stdin() {
        return watch.stdin != null ? watch.stdin : NoPipe.OUTPUT;
    }

    /**
     * The child's stdout when redirected to PIPE; otherwise, as java.lang.Process's, an empty stream (read
     * returns -1, available 0, also after close). Blocks through the poller.
     * @return the stream from the child's stdout
     */
    public InputStream stdout() {
        return watch.stdout != null ? watch.stdout : NoPipe.INPUT;
    }

    /**
     * The child's stderr when redirected to PIPE; otherwise an empty stream, as {@link #stdout()}.
     *
     * @return the stream from the child's stderr
     */
    public InputStream stderr() {
        return watch.stderr != null ? watch.stderr : NoPipe.INPUT;
    }

    /** The streams of a child's descriptor that is not a pipe: those of the JDK's ProcessBuilder.NullInputStream/NullOutputStream. */
    private static final class NoPipe {
        static final InputStream INPUT = new InputStream() {
            @Override
            public int read() {
                return -1;
            }

            @Override
            public int available() {
                return 0;
            }
        };

        static final OutputStream OUTPUT = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("Stream closed: the child's stdin is not redirected to PIPE");
            }
        };
    }

    /**
     * The child's stdout as chunks delivered by the poller thread, with back-pressure (a pipe that is
     * not requested from is not read). One subscriber; not together with {@link #stdout()}.
     * @return the publisher of the child's stdout
     */
    public Flow.Publisher<ByteBuffer> stdoutPublisher() {
        return publisher(watch.stdout, "stdout");
    }

    /**
     * The child's stderr as a publisher, as {@link #stdoutPublisher()}.
     *
     * @return the publisher of the child's stderr
     */
    public Flow.Publisher<ByteBuffer> stderrPublisher() {
        return publisher(watch.stderr, "stderr");
    }

    private static Flow.Publisher<ByteBuffer> publisher(PipeReader pipe, String name) {
        if (pipe == null) throw new IllegalStateException(name + " was not redirected to PIPE");
        return pipe;
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
            watch.ensureWatched(); // a process that is not our child is watched from now on
            view = new ProcessView(this, handleWhileItIsOurs());
        }
        return view;
    }

    /** A ProcessHandle on this process, or null if its pid may already name another one. */
    private ProcessHandle handleWhileItIsOurs() {
        if (watch.child) {
            synchronized (watch.reapLock) { // unreaped, the pid is still our child's (alive or a zombie)
                return watch.isReaped() ? null : ProcessHandle.of(watch.pid).orElse(null);
            }
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
        CompletableFuture<ExitStatus> exit = watch.exit;
        return switch (exit.state()) {
            case SUCCESS -> exit.resultNow();
            case RUNNING -> null;
            case FAILED, CANCELLED -> throw new IllegalStateException("ProcessDescriptor(pid=" + watch.pid + ") was closed before the process exited");
        };
    }

    /** SIGKILL as {@link SpawnOption#KILL_ON_CLOSE} sends it (the whole group it was started to lead): for ProcessSet.closeAndKill(). */
    void killForClose() {
        watch.killForKillOnClose();
    }

    /** Closes our ends of the child's pipes (not the pidfd): Process.destroy() does so. */
    void closePipes() {
        watch.closePipes();
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
        watch.closedByOwner = true;
        cleanable.clean();
    }

    @Override
    public String toString() {
        CompletableFuture<ExitStatus> exit = watch.exit;
        String state = exit.state() == java.util.concurrent.Future.State.SUCCESS ? ", " + exit.resultNow() : watch.closed ? ", closed" : "";
        return "ProcessDescriptor(pid=" + watch.pid + (watch.child ? ", child" : "") + state + ")";
    }

    /**
     * "NAME=value" entries, or null when the builder's environment is the JVM's own, unchanged (the common
     * case): the Spawner then passes one envp built once, instead of copying and re-encoding every variable
     * on every spawn. Comparing the maps costs far less than that copy.
     */
    private static List<String> environmentOf(ProcessBuilder builder) {
        Map<String, String> wanted = builder.environment();
        if (wanted.equals(System.getenv())) return Spawner.INHERITED_ENVIRONMENT;
        List<String> environment = new ArrayList<>(wanted.size());
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            checkNoNul(e.getKey(), "environment name");
            checkNoNul(e.getValue(), "environment value of " + e.getKey());
            environment.add(e.getKey() + "=" + e.getValue());
        }
        return environment;
    }

    private static void checkNoNul(String s, String what) {
        if (s.indexOf('\0') >= 0) throw new IllegalArgumentException(what + " must not contain a NUL character: " + s.replace("\0", "\\0"));
    }

    // ------------------------------------------------------------------ stdio plumbing

    /** The descriptors for one spawn: what the child gets on 0-2, and our ends of its pipes. */
    private static final class Stdio {
        final int[] childFd = {-1, -1, -1};
        final int[] childEndsToClose = {-1, -1, -1};
        final int[] ourPipeEnd = {-1, -1, -1};

        /** Gives the child {@code fd} (a pipeline end, now owned here) as descriptor {@code target}. */
        void pipelineEnd(int target, int fd) {
            childEndsToClose[target] = fd;
            childFd[target] = fd;
        }

        void set(int target, ProcessBuilder.Redirect redirect) throws IOException, SyscallException {
            switch (redirect.type()) {
                case INHERIT -> { }
                case PIPE -> {
                    long ends = Syscalls.pipe2(Uapi.O_CLOEXEC);
                    int readEnd = (int) ends;
                    int writeEnd = (int) (ends >>> 32);
                    int ours = target == 0 ? writeEnd : readEnd;
                    int theirs = target == 0 ? readEnd : writeEnd;
                    ourPipeEnd[target] = ours;
                    childEndsToClose[target] = theirs;
                    childFd[target] = theirs;
                    // Only our end is non-blocking: the child must see an ordinary blocking pipe.
                    Syscalls.fcntl(ours, Uapi.F_SETFL, Syscalls.fcntl(ours, Uapi.F_GETFL, 0) | Uapi.O_NONBLOCK);
                }
                case READ -> openFile(target, redirect.file(), Uapi.O_RDONLY);
                case WRITE -> openFile(target, redirect.file(), Uapi.O_WRONLY | Uapi.O_CREAT | Uapi.O_TRUNC);
                case APPEND -> openFile(target, redirect.file(), Uapi.O_WRONLY | Uapi.O_CREAT | Uapi.O_APPEND);
            }
        }

        private void openFile(int target, File file, int flags) throws IOException, SyscallException {
            String path = file.getPath();
            checkNoNul(path, "redirect file");
            int fd = Syscalls.open(path, flags, 0666);
            childEndsToClose[target] = fd;
            childFd[target] = fd;
        }

        PipeWriter stdin() {
            return ourPipeEnd[0] >= 0 ? new PipeWriter(ourPipeEnd[0], "stdin") : null;
        }

        PipeReader stdout() {
            return ourPipeEnd[1] >= 0 ? new PipeReader(ourPipeEnd[1], "stdout") : null;
        }

        PipeReader stderr() {
            return ourPipeEnd[2] >= 0 ? new PipeReader(ourPipeEnd[2], "stderr") : null;
        }

        void closeChildEnds() {
            for (int i = 0; i < 3; i++) {
                closeQuietly(childEndsToClose[i]);
                childEndsToClose[i] = -1;
            }
        }

        void closeAll() {
            closeChildEnds();
            for (int i = 0; i < 3; i++) {
                closeQuietly(ourPipeEnd[i]);
                ourPipeEnd[i] = -1;
            }
        }

        private static void closeQuietly(int fd) {
            if (fd < 0) return;
            try {
                Syscalls.close(fd);
            } catch (SyscallException ignored) {
                // cleanup after a failed spawn: the original error is what matters
            }
        }
    }

    // ------------------------------------------------------------------ watching (no reference to the descriptor object)

    /**
     * Everything the poller and the Cleaner need, without the ProcessDescriptor itself, so a dropped
     * descriptor becomes unreachable and is cleaned while its child is still watched and reaped.
     */
    static final class Watch implements Runnable {
        final int pid;
        final Fd pidfd;
        final boolean child;
        final boolean killOnClose;
        final boolean leadsGroup; // spawned as a group leader: KILL_ON_CLOSE ends the whole group
        final PipeWriter stdin;
        final PipeReader stdout;
        final PipeReader stderr;
        final CompletableFuture<ExitStatus> exit = new PollerSafeFuture<>();
        final long startTicks; // fallback for non-children: tells the process from a later one with its pid
        final Object reapLock = new Object(); // kill(2) and reaping never overlap (no signal to a recycled pid)
        private boolean reaped; // guarded by reapLock: the pid (and a group it leads) may be recycled from now on
        private boolean watching; // guarded by this
        private Poller.Registration registration; // guarded by this; the pidfd's watch on the shared poller
        private final AtomicBoolean watchHoldsUse = new AtomicBoolean(); // the watch's use of the pidfd, released once
        volatile boolean closed;
        volatile boolean closedByOwner; // close(), not the Cleaner: a non-child's watch ends with it

        Watch(int pid, Fd pidfd, boolean child, boolean killOnClose, boolean leadsGroup, PipeWriter stdin, PipeReader stdout, PipeReader stderr) {
            this.pid = pid;
            this.pidfd = pidfd;
            this.child = child;
            this.killOnClose = killOnClose;
            this.leadsGroup = leadsGroup;
            this.stdin = stdin;
            this.stdout = stdout;
            this.stderr = stderr;
            this.startTicks = pidfd == null && !child ? FallbackReaper.startTicks(pid) : 0;
        }

        /** Children are watched from birth: that is what guarantees they are reaped. */
        void watchChild() {
            ensureWatched();
        }

        synchronized void ensureWatched() {
            if (watching || exit.isDone()) return;
            if (closed) throw new IllegalStateException("ProcessDescriptor(pid=" + pid + ") is closed");
            watching = true;
            if (pidfd == null) {
                FallbackReaper.watch(this);
                return;
            }
            int number = pidfd.acquire(); // held until the exit is known: the number stays ours meanwhile
            watchHoldsUse.set(true);
            try {
                Pollable raw = new WatchedPidfd(number, pid); // foreign: closing the descriptor must not stop the watch
                registration = Poller.shared().register(raw, Poller.READABLE, Poller.Trigger.ONE_SHOT, (r, events) -> onPidfdReadable(r, number));
            } catch (RuntimeException e) {
                releaseWatchUse();
                watching = false;
                throw e;
            }
        }

        private void releaseWatchUse() {
            if (watchHoldsUse.compareAndSet(true, false)) pidfd.release();
        }

        /** Exit known: the watch lets go of the pidfd first, so that close() after waitFor() closes it at once. */
        private void finishWatch(ExitStatus status, long seenAtNanos) {
            releaseWatchUse();
            completeExit(status, seenAtNanos);
        }

        /** The one place the exit becomes known: completes the future and records the JFR event. */
        private void completeExit(ExitStatus status, long seenAtNanos) {
            boolean first = exit.complete(status);
            FdkitEvents.ProcessExited event = new FdkitEvents.ProcessExited();
            if (first && event.shouldCommit()) {
                event.pid = pid;
                event.status = status.toString();
                event.exitCode = status.kind() == ExitStatus.Kind.EXITED ? status.code() : -1;
                event.notificationLatency = System.nanoTime() - seenAtNanos;
                event.commit();
            }
        }

        /**
         * close() of a descriptor on someone else's process: nothing needs reaping, so the watch ends with it
         * (a watchdog polling a long-lived process must not keep a pidfd and a registration per round).
         */
        private void stopWatchingNonChild() {
            Poller.Registration r;
            synchronized (this) {
                if (!watching) return;
                r = registration;
            }
            if (pidfd == null) FallbackReaper.unwatch(this);
            if (r != null) r.cancel(); // waits for a handler running on the poller thread
            synchronized (this) { // not while retryExitInfo asks the kernel about the number
                releaseWatchUse();
            }
            exit.completeExceptionally(new CancellationException("ProcessDescriptor(pid=" + pid + ") was closed before the process exited"));
        }

        /** On the poller thread: the process has exited. */
        private void onPidfdReadable(Poller.Registration registration, int number) {
            long seenAt = System.nanoTime();
            ExitStatus status;
            try {
                status = child ? reapChild(number) : nonChildStatus(number);
            } catch (SyscallException | RuntimeException e) {
                status = ExitStatus.unknown("waiting failed: " + e.getMessage());
            }
            if (status == STILL_RUNNING) {
                registration.rearm();
                return;
            }
            registration.cancel();
            if (status == NOT_YET_REAPED) {
                retryExitInfo(number, 0, seenAt);
                return;
            }
            finishWatch(status, seenAt);
        }

        /**
         * Not our child: the pidfd is readable at exit, but PIDFD_INFO_EXIT appears only once the parent
         * has reaped it. Ask again with growing delays (about 4 s in all), on the JDK's shared delay
         * scheduler, then give up with UNKNOWN.
         */
        private void retryExitInfo(int number, int attempt, long seenAt) {
            long delayMillis = Math.min(1L << attempt, 500);
            CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS).execute(() -> {
                ExitStatus status;
                // The watch's use keeps the number ours; close() lets go of it under this lock (stopWatchingNonChild),
                // so it cannot be closed, and reused by another descriptor, while the ioctl runs. A descriptor dropped
                // without close() keeps its use: its process stays watched, as the class comment promises.
                synchronized (this) {
                    if (!watchHoldsUse.get()) return;
                    try {
                        status = exitInfo(number);
                    } catch (SyscallException | RuntimeException e) {
                        status = ExitStatus.unknown("PIDFD_GET_INFO failed: " + e.getMessage());
                    }
                }
                if (status == NOT_YET_REAPED && attempt < 15) {
                    retryExitInfo(number, attempt + 1, seenAt);
                    return;
                }
                finishWatch(status == NOT_YET_REAPED ? ExitStatus.unknown("exited, but its parent has not reaped it") : status, seenAt);
            });
        }

        private ExitStatus reapChild(int number) throws SyscallException {
            Syscalls.WaitResult w;
            synchronized (reapLock) { // uncontended but for kill(2) where pidfd_send_signal (or PIDFD_SIGNAL_PROCESS_GROUP) is missing
                // Without waitid(P_PIDFD) (Linux 5.3, or seccomp) the pid is as exact: our child, unreaped until this call.
                w = Linux.has(Feature.WAITID_P_PIDFD) ? Syscalls.waitid(Uapi.P_PIDFD, number, Uapi.WEXITED | Uapi.WNOHANG, false)
                        : Syscalls.waitid(Uapi.P_PID, pid, Uapi.WEXITED | Uapi.WNOHANG, false);
                if (w == null) return STILL_RUNNING;
                reaped = true;
            }
            return fromWait(w);
        }

        /** Under reapLock. */
        boolean isReaped() {
            return reaped;
        }

        /** The fallback reaper's waitid, under reapLock: the same bookkeeping. */
        ExitStatus reapedBy(Syscalls.WaitResult w) {
            reaped = true;
            return fromWait(w);
        }

        private ExitStatus nonChildStatus(int number) throws SyscallException {
            // Someone else's child, possibly the JDK's: look (WNOWAIT) but leave the reaping to its owner.
            Syscalls.WaitResult w = Linux.has(Feature.WAITID_P_PIDFD)
                    ? Syscalls.waitid(Uapi.P_PIDFD, number, Uapi.WEXITED | Uapi.WNOHANG | Uapi.WNOWAIT, true) : null;
            if (w != null) return fromWait(w);
            return exitInfo(number);
        }

        private static ExitStatus exitInfo(int number) throws SyscallException {
            Capability infoExit = Linux.feature(Feature.PIDFD_INFO_EXIT);
            if (!infoExit.available()) return ExitStatus.unknown("not our child, and PIDFD_INFO_EXIT is unavailable: " + infoExit.cause());
            Integer waitStatus = Syscalls.pidfdExitStatus(number);
            return waitStatus == null ? NOT_YET_REAPED : ExitStatus.fromWaitStatus(waitStatus, null);
        }

        boolean isAlive() {
            if (exit.isDone()) {
                if (exit.state() == java.util.concurrent.Future.State.SUCCESS) return false;
                throw new IllegalStateException("ProcessDescriptor(pid=" + pid + ") was closed before the process exited");
            }
            if (pidfd == null) return FallbackReaper.isAlive(this);
            int number = pidfd.tryAcquire();
            if (number < 0) return !exit.isDone();
            try {
                return (Syscalls.poll(number, Uapi.POLLIN, 0) & Uapi.POLLIN) == 0;
            } catch (SyscallException e) {
                throw ErrnoException.unchecked(e);
            } finally {
                pidfd.release();
            }
        }

        boolean signal(int signal) {
            if (closed) throw new IllegalStateException("ProcessDescriptor(pid=" + pid + ") is closed");
            return sendSignal(signal);
        }

        private boolean sendSignal(int signal) {
            if (exit.isDone()) return false;
            try {
                if (pidfd != null && Linux.has(Feature.PIDFD_SEND_SIGNAL)) {
                    int number = pidfd.tryAcquire();
                    if (number < 0) return false; // closed, and the watch has let go: the process is gone
                    try {
                        // pidfd_send_signal succeeds on a zombie: an exited process that its parent has not reaped
                        // yet (a non-child whose parent is slow, or our child just before the poller reaps it)
                        // would count as signalled. The pidfd is readable from exit on, so look first; a process
                        // that exits between the look and the send only gets a signal it ignores as a zombie.
                        if ((Syscalls.poll(number, Uapi.POLLIN, 0) & Uapi.POLLIN) != 0) return false;
                        return Syscalls.pidfdSendSignal(number, signal, 0);
                    } finally {
                        pidfd.release();
                    }
                }
                if (!child) {
                    Capability missing = Linux.feature(pidfd == null ? Feature.PIDFD_OPEN : Feature.PIDFD_SEND_SIGNAL);
                    throw new UnsupportedOperationException("cannot signal pid " + pid + " race-free without " + missing.feature().displayName()
                            + " (" + missing.cause() + "): it is not our child, so its pid may be recycled");
                }
                synchronized (reapLock) {
                    // Not reaped: the pid is still ours. kill(2) too succeeds on a zombie: an exited child the reaper has
                    // not reached yet counts as exited (FallbackReaper.isAlive looks with waitid WNOWAIT, under this lock).
                    return !reaped && !exit.isDone() && FallbackReaper.isAlive(this) && Syscalls.kill(pid, signal);
                }
            } catch (SyscallException e) {
                throw ErrnoException.unchecked(e);
            }
        }

        boolean signalGroup(int signal) {
            if (closed) throw new IllegalStateException("ProcessDescriptor(pid=" + pid + ") is closed");
            return sendGroupSignal(signal);
        }

        private boolean sendGroupSignal(int signal) {
            try {
                if (pidfd != null && Linux.has(Feature.PIDFD_SIGNAL_PROCESS_GROUP)) {
                    int number = pidfd.tryAcquire();
                    if (number < 0) return false; // closed, and the watch has let go
                    try {
                        // While it runs, the pid is its own: check it leads a group. Once it has exited, the
                        // kernel alone knows whether its group lives on.
                        if ((Syscalls.poll(number, Uapi.POLLIN, 0) & Uapi.POLLIN) == 0) requireGroupLeader();
                        return Syscalls.pidfdSendSignal(number, signal, Uapi.PIDFD_SIGNAL_PROCESS_GROUP);
                    } finally {
                        pidfd.release();
                    }
                }
                if (!child) {
                    throw new UnsupportedOperationException("cannot signal the process group of pid " + pid + " race-free: it is not our child, and "
                            + Feature.PIDFD_SIGNAL_PROCESS_GROUP.displayName() + " is unavailable (" + Linux.feature(Feature.PIDFD_SIGNAL_PROCESS_GROUP).cause() + ")");
                }
                synchronized (reapLock) { // not reaped: the pid, and so the group id it leads, is still ours
                    if (reaped || exit.isDone()) return false;
                    requireGroupLeader();
                    return Syscalls.kill(-pid, signal);
                }
            } catch (SyscallException e) {
                throw ErrnoException.unchecked(e);
            }
        }

        private void requireGroupLeader() throws SyscallException {
            int group = Syscalls.getpgid(pid);
            if (group >= 0 && group != pid) {
                throw new IllegalStateException("pid " + pid + " does not lead a process group (it is in group " + group
                        + "): start it with SpawnOption.NEW_PROCESS_GROUP or NEW_SESSION to signal its group");
            }
        }

        /** close(): the Cleaner's action too. */
        @Override
        public void run() {
            closed = true;
            if (killOnClose && child) killForKillOnClose();
            if (!child && closedByOwner) stopWatchingNonChild();
            if (pidfd != null) pidfd.close(); // a child's watch holds a use: close(2) waits for the reap
            closePipes();
        }

        void closePipes() {
            if (stdin != null) stdin.close();
            if (stdout != null) stdout.close();
            if (stderr != null) stderr.close();
        }

        /** KILL_ON_CLOSE: at close() and when the JVM exits. */
        void killForKillOnClose() {
            try {
                if (leadsGroup) sendGroupSignal(Uapi.SIGKILL); // also what is left of the group once the leader is gone
                else if (!exit.isDone()) sendSignal(Uapi.SIGKILL);
            } catch (RuntimeException ignored) {
                // already gone
            }
        }

        void completeFromFallback(ExitStatus status) {
            completeExit(status, System.nanoTime());
        }
    }

    /**
     * KILL_ON_CLOSE children still running when the JVM exits normally (System.exit, end of main, SIGTERM):
     * a shutdown hook kills them, as the kernel closes a pdfork descriptor when its process exits. A JVM killed
     * with SIGKILL or crashing runs no hook, and posix_spawn cannot set PR_SET_PDEATHSIG in the child.
     */
    private static final class KillOnExit {
        private static final java.util.Set<Watch> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

        static {
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("fdkit-kill-on-exit").unstarted(
                    () -> LIVE.forEach(Watch::killForKillOnClose)));
        }

        static void add(Watch watch) {
            LIVE.add(watch);
            watch.exit.whenComplete((status, failure) -> LIVE.remove(watch));
        }
    }

    /** The pidfd number the exit watch registers, named for diagnostics (JFR's PollerStall, logs). */
    private record WatchedPidfd(int fd, int pid) implements Pollable {
        @Override
        public String toString() {
            return "exit watch of pid " + pid + " (pidfd " + fd + ")";
        }
    }

    /** Marker (compared by identity) for "exited, exit info not published yet". */
    private static final ExitStatus NOT_YET_REAPED = ExitStatus.unknown("not yet reaped by its parent");

    static ExitStatus fromWait(Syscalls.WaitResult w) {
        ResourceUsage usage = new ResourceUsage(Duration.ofNanos(w.userMicros() * 1000), Duration.ofNanos(w.systemMicros() * 1000), w.maxRssKilobytes());
        int code = w.code();
        if (code == Uapi.CLD_EXITED) return ExitStatus.exited(w.status(), usage);
        if (code == Uapi.CLD_KILLED) return ExitStatus.killed(w.status(), false, usage);
        if (code == Uapi.CLD_DUMPED) return ExitStatus.killed(w.status(), true, usage);
        if (code == Uapi.CLD_STOPPED || code == Uapi.CLD_TRAPPED) return new ExitStatus(ExitStatus.Kind.STOPPED, 0, w.status(), false, usage, "");
        if (code == Uapi.CLD_CONTINUED) return new ExitStatus(ExitStatus.Kind.CONTINUED, 0, 0, false, usage, "");
        return ExitStatus.unknown("waitid reported si_code " + code);
    }
}
