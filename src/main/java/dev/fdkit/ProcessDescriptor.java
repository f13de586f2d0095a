package dev.fdkit;

import dev.fdkit.internal.Errno;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.Spawner;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
 * Callbacks attached to {@link #onExit()} with the non-async CompletableFuture methods run on the poller
 * thread: keep them short, or use the *Async variants.
 * <p>
 * Without pidfds (kernel before 5.3, or a seccomp profile that answers ENOSYS/EPERM; forced with
 * {@code -Dfdkit.disable=pidfd_open}) children are watched by one fdkit-reaper thread that polls
 * waitid(WNOHANG) every few milliseconds; signals to children are sent with kill(2) under the same lock
 * that reaps, so never to a recycled pid. Processes that are not our children can then be watched but not
 * signalled ({@link #signal} throws UnsupportedOperationException): without a pidfd that cannot be made
 * race-free.
 */
public final class ProcessDescriptor implements FdOwner, AutoCloseable {
    private static final ExitStatus STILL_RUNNING = null;

    private final Watch watch;
    private final Cleaner.Cleanable cleanable;

    private ProcessDescriptor(Watch watch) {
        this.watch = watch;
        this.cleanable = Fd.CLEANER.register(this, watch); // backstop: a dropped descriptor is closed like close()
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
     */
    public static ProcessDescriptor start(ProcessBuilder builder, SpawnOption... options) throws IOException {
        Objects.requireNonNull(builder, "builder");
        EnumSet<SpawnOption> opts = EnumSet.noneOf(SpawnOption.class);
        for (SpawnOption o : options) opts.add(Objects.requireNonNull(o, "options"));
        List<String> argv = List.copyOf(builder.command());
        if (argv.isEmpty()) throw new IllegalArgumentException("command must not be empty");
        for (String arg : argv) checkNoNul(arg, "command");
        List<String> environment = environmentOf(builder);
        File dir = builder.directory();
        String directory = dir == null ? null : dir.getPath();
        if (directory != null) checkNoNul(directory, "directory");

        Stdio stdio = new Stdio();
        try {
            stdio.set(0, builder.redirectInput());
            stdio.set(1, builder.redirectOutput());
            if (builder.redirectErrorStream()) stdio.childFd[2] = stdio.childFd[1] >= 0 ? stdio.childFd[1] : 1;
            else stdio.set(2, builder.redirectError());
            boolean pidfd = Linux.has(Feature.PIDFD_OPEN);
            Spawner.Child child = Spawner.spawn(new Spawner.Request(argv, environment, directory, stdio.childFd,
                    opts.contains(SpawnOption.NEW_SESSION), opts.contains(SpawnOption.NEW_PROCESS_GROUP)), pidfd);
            stdio.closeChildEnds();
            Watch watch = new Watch(child.pid(), child.pidfd() >= 0 ? new Fd(child.pidfd(), "ProcessDescriptor") : null,
                    true, opts.contains(SpawnOption.KILL_ON_CLOSE), stdio.stdin(), stdio.stdout(), stdio.stderr());
            try {
                watch.watchChild();
            } catch (RuntimeException e) { // unwatched, it would run unsupervised and end a zombie
                Spawner.killAndReap(child.pid(), e);
                if (watch.pidfd != null) watch.pidfd.close();
                throw e;
            }
            return new ProcessDescriptor(watch);
        } catch (IOException | RuntimeException e) {
            stdio.closeAll();
            throw e;
        }
    }

    /** Starts {@code argv} with the caller's stdin, stdout and stderr inherited. */
    public static ProcessDescriptor spawn(String... argv) throws IOException {
        return start(new ProcessBuilder(argv).inheritIO());
    }

    /**
     * A descriptor on any existing process — ours or not, as lmkd-style watchdogs need. Its exit code is
     * known for our children, and for other processes where the kernel has PIDFD_INFO_EXIT (6.15+);
     * otherwise {@link #onExit()} completes with an {@link ExitStatus.Kind#UNKNOWN} status saying why.
     *
     * @throws IllegalArgumentException if pid is not positive or beyond the pid range
     * @throws ErrnoException           ESRCH if no such process exists
     */
    public static ProcessDescriptor open(long pid) throws IOException {
        if (pid <= 0 || pid > Integer.MAX_VALUE) throw new IllegalArgumentException("pid must be between 1 and " + Integer.MAX_VALUE + ", was " + pid);
        Fd pidfd = null;
        if (Linux.has(Feature.PIDFD_OPEN)) {
            pidfd = new Fd(Syscalls.pidfdOpen((int) pid, 0), "ProcessDescriptor");
        } else if (FallbackReaper.startTicks((int) pid) < 0) { // /proc, not kill(0): EPERM for others' processes
            throw new ErrnoException("open", "/proc/" + pid + "/stat", Errno.ESRCH);
        }
        return new ProcessDescriptor(new Watch((int) pid, pidfd, false, false, null, null, null));
    }

    /** {@link #open(long)} for a ProcessHandle (for example a java.lang.Process's). */
    public static ProcessDescriptor of(ProcessHandle handle) throws IOException {
        return open(Objects.requireNonNull(handle, "handle").pid());
    }

    // ------------------------------------------------------------------ identity and state

    public long pid() {
        return watch.pid;
    }

    /** True if fdkit spawned this process (and so reaps it and knows its resource usage). */
    public boolean isChild() {
        return watch.child;
    }

    /** The pidfd: readable once the process has exited. */
    @Override
    public Fd descriptor() {
        if (watch.pidfd == null) throw new UnsupportedOperationException("no pidfd: " + Linux.feature(Feature.PIDFD_OPEN).cause());
        return watch.pidfd;
    }

    /** False once the process has exited (whether or not it has been reaped yet). */
    public boolean isAlive() {
        return watch.isAlive();
    }

    /** Completes with the exit status when the process exits, from the poller thread. */
    public CompletableFuture<ExitStatus> onExit() {
        watch.ensureWatched();
        return watch.exit.copy(); // callers cannot complete or cancel the real one
    }

    /** Waits for exit, parking in Java (safe on virtual threads). */
    public ExitStatus waitFor() throws InterruptedException {
        watch.ensureWatched();
        try {
            return watch.exit.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /** Waits at most {@code timeout}: the status, or empty if the process is still running. */
    public Optional<ExitStatus> waitFor(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        watch.ensureWatched();
        try {
            return Optional.of(watch.exit.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return Optional.ofNullable(STILL_RUNNING);
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
     * @throws UnsupportedOperationException without pidfds, for a process that is not our child
     */
    public boolean signal(int signal) {
        if (signal < 0 || signal > 64) throw new IllegalArgumentException("signal must be between 0 and 64, was " + signal);
        return watch.signal(signal);
    }

    /** SIGTERM; false if already exited. */
    public boolean terminate() {
        return signal(Uapi.SIGTERM);
    }

    /** SIGKILL; false if already exited. */
    public boolean kill() {
        return signal(Uapi.SIGKILL);
    }

    // ------------------------------------------------------------------ streams

    /** The child's stdin when redirected to PIPE; otherwise an OutputStream that discards. */
    public OutputStream stdin() {
        return watch.stdin != null ? watch.stdin : OutputStream.nullOutputStream();
    }

    /** The child's stdout when redirected to PIPE; otherwise an empty stream. Blocks through the poller. */
    public InputStream stdout() {
        return watch.stdout != null ? watch.stdout : InputStream.nullInputStream();
    }

    /** The child's stderr when redirected to PIPE; otherwise an empty stream. */
    public InputStream stderr() {
        return watch.stderr != null ? watch.stderr : InputStream.nullInputStream();
    }

    /**
     * The child's stdout as chunks delivered by the poller thread, with back-pressure (a pipe that is
     * not requested from is not read). One subscriber; not together with {@link #stdout()}.
     */
    public Flow.Publisher<ByteBuffer> stdoutPublisher() {
        return publisher(watch.stdout, "stdout");
    }

    /** The child's stderr as a publisher, as {@link #stdoutPublisher()}. */
    public Flow.Publisher<ByteBuffer> stderrPublisher() {
        return publisher(watch.stderr, "stderr");
    }

    private static Flow.Publisher<ByteBuffer> publisher(PipeReader pipe, String name) {
        if (pipe == null) throw new IllegalStateException(name + " was not redirected to PIPE");
        return pipe;
    }

    // ------------------------------------------------------------------ closing

    /**
     * Closes the pidfd and our pipe ends. A child that is still running keeps being watched and is reaped
     * when it exits ({@link #onExit()} still completes); with {@link SpawnOption#KILL_ON_CLOSE} it is sent
     * SIGKILL first. Idempotent.
     */
    @Override
    public void close() {
        cleanable.clean();
    }

    @Override
    public String toString() {
        return "ProcessDescriptor(pid=" + watch.pid + (watch.child ? ", child" : "") + (watch.exit.isDone() ? ", " + watch.exit.join() : "") + ")";
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

        void set(int target, ProcessBuilder.Redirect redirect) throws IOException {
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

        private void openFile(int target, File file, int flags) throws IOException {
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
            } catch (ErrnoException ignored) {
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
        final PipeWriter stdin;
        final PipeReader stdout;
        final PipeReader stderr;
        final CompletableFuture<ExitStatus> exit = new CompletableFuture<>();
        final long startTicks; // fallback for non-children: tells the process from a later one with its pid
        final Object reapLock = new Object(); // fallback: kill(2) and reaping never overlap
        private boolean watching; // guarded by this
        private volatile boolean closed;

        Watch(int pid, Fd pidfd, boolean child, boolean killOnClose, PipeWriter stdin, PipeReader stdout, PipeReader stderr) {
            this.pid = pid;
            this.pidfd = pidfd;
            this.child = child;
            this.killOnClose = killOnClose;
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
            try {
                Pollable raw = () -> number; // not an FdOwner: closing the descriptor must not stop the watch
                Poller.shared().register(raw, Poller.READABLE, Poller.Trigger.ONE_SHOT, (r, events) -> onPidfdReadable(r, number));
            } catch (RuntimeException e) {
                pidfd.release();
                watching = false;
                throw e;
            }
        }

        /** On the poller thread: the process has exited. */
        private void onPidfdReadable(Poller.Registration registration, int number) {
            ExitStatus status;
            try {
                status = child ? reapChild(number) : nonChildStatus(number);
            } catch (ErrnoException | RuntimeException e) {
                status = ExitStatus.unknown("waiting failed: " + e.getMessage());
            }
            if (status == STILL_RUNNING) {
                registration.rearm();
                return;
            }
            registration.cancel();
            if (status == NOT_YET_REAPED) {
                retryExitInfo(number, 0);
                return;
            }
            // Released before the waiters run: once waitFor() returns, close() closes the pidfd at once.
            pidfd.release();
            exit.complete(status);
        }

        /**
         * Not our child: the pidfd is readable at exit, but PIDFD_INFO_EXIT appears only once the parent
         * has reaped it. Ask again with growing delays (about 4 s in all), on the JDK's shared delay
         * scheduler, then give up with UNKNOWN.
         */
        private void retryExitInfo(int number, int attempt) {
            long delayMillis = Math.min(1L << attempt, 500);
            CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS).execute(() -> {
                ExitStatus status;
                try {
                    status = exitInfo(number);
                } catch (ErrnoException | RuntimeException e) {
                    status = ExitStatus.unknown("PIDFD_GET_INFO failed: " + e.getMessage());
                }
                if (status == NOT_YET_REAPED && attempt < 15) {
                    retryExitInfo(number, attempt + 1);
                    return;
                }
                pidfd.release();
                exit.complete(status == NOT_YET_REAPED ? ExitStatus.unknown("exited, but its parent has not reaped it") : status);
            });
        }

        private ExitStatus reapChild(int number) throws ErrnoException {
            Syscalls.WaitResult w = Syscalls.waitid(Uapi.P_PIDFD, number, Uapi.WEXITED | Uapi.WNOHANG, false);
            if (w == null) return STILL_RUNNING;
            return fromWait(w);
        }

        private ExitStatus nonChildStatus(int number) throws ErrnoException {
            // Someone else's child, possibly the JDK's: look (WNOWAIT) but leave the reaping to its owner.
            Syscalls.WaitResult w = Syscalls.waitid(Uapi.P_PIDFD, number, Uapi.WEXITED | Uapi.WNOHANG | Uapi.WNOWAIT, true);
            if (w != null) return fromWait(w);
            return exitInfo(number);
        }

        private static ExitStatus exitInfo(int number) throws ErrnoException {
            Capability infoExit = Linux.feature(Feature.PIDFD_INFO_EXIT);
            if (!infoExit.available()) return ExitStatus.unknown("not our child, and PIDFD_INFO_EXIT is unavailable: " + infoExit.cause());
            Integer waitStatus = Syscalls.pidfdExitStatus(number);
            return waitStatus == null ? NOT_YET_REAPED : ExitStatus.fromWaitStatus(waitStatus, null);
        }

        boolean isAlive() {
            if (exit.isDone()) return false;
            if (pidfd == null) return FallbackReaper.isAlive(this);
            int number = pidfd.tryAcquire();
            if (number < 0) return !exit.isDone();
            try {
                return (Syscalls.poll(number, Uapi.POLLIN, 0) & Uapi.POLLIN) == 0;
            } catch (ErrnoException e) {
                throw new UncheckedIOException(e);
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
                if (pidfd != null) {
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
                    throw new UnsupportedOperationException("cannot signal pid " + pid + " race-free without pidfds ("
                            + Linux.feature(Feature.PIDFD_OPEN).cause() + "): it is not our child, so its pid may be recycled");
                }
                synchronized (reapLock) {
                    // kill(2) too succeeds on a zombie: an exited child the reaper has not reached yet counts as
                    // exited (FallbackReaper.isAlive looks with waitid WNOWAIT, under this same lock).
                    return !exit.isDone() && FallbackReaper.isAlive(this) && Syscalls.kill(pid, signal);
                }
            } catch (ErrnoException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** close(): the Cleaner's action too. */
        @Override
        public void run() {
            closed = true;
            if (killOnClose && child && !exit.isDone()) {
                try {
                    sendSignal(Uapi.SIGKILL);
                } catch (RuntimeException ignored) {
                    // already gone
                }
            }
            if (pidfd != null) pidfd.close(); // the watch holds a use: close(2) waits for the reap
            if (stdin != null) stdin.close();
            if (stdout != null) stdout.close();
            if (stderr != null) stderr.close();
        }

        void completeFromFallback(ExitStatus status) {
            exit.complete(status);
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
