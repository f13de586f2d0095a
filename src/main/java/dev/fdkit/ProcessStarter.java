package dev.fdkit;

import dev.fdkit.internal.Spawner;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Spawning: a ProcessBuilder (checked, its redirects applied) becomes a {@link Spawner.Request}, the syscall
 * layer's Spawner starts it, and the child is watched from birth; for a pipeline, one after the other with a
 * pipe between each two.
 */
final class ProcessStarter {
    private ProcessStarter() {}

    /** The options of one start: the flags, and the descriptors to pass in the order given. */
    record Options(EnumSet<SpawnFlag> flags, List<PassedDescriptor> passed) {
        boolean has(SpawnFlag flag) {
            return flags.contains(flag);
        }
    }

    /** No options: the common case, one instance. */
    static final Options NO_OPTIONS = new Options(EnumSet.noneOf(SpawnFlag.class), List.of());

    static Options optionSet(SpawnOption... options) {
        Objects.requireNonNull(options, "options");
        if (options.length == 0) return NO_OPTIONS;
        EnumSet<SpawnFlag> flags = EnumSet.noneOf(SpawnFlag.class);
        List<PassedDescriptor> passed = new ArrayList<>();
        for (int i = 0; i < options.length; i++) {
            switch (options[i]) {
                case null -> throw new NullPointerException("options[" + i + "] is null");
                case SpawnFlag flag -> flags.add(flag);
                case PassedDescriptor pass -> {
                    for (PassedDescriptor earlier : passed) {
                        if (earlier.childFd() == pass.childFd()) {
                            throw new IllegalArgumentException("options: childFd " + pass.childFd() + " must be passed at most once: " + earlier + ", " + pass);
                        }
                    }
                    passed.add(pass);
                }
            }
        }
        return new Options(flags, List.copyOf(passed));
    }

    /**
     * Starts {@code builder} with {@code stdio}, which may already hold pipeline ends for 0 and 1 (those
     * redirects are then not applied); every descriptor in {@code stdio} is closed here, whatever happens.
     */
    static ProcessDescriptor start(ProcessBuilder builder, Options opts, Stdio stdio) throws IOException {
        return start(builder, false, opts, stdio);
    }

    /**
     * As {@link #start(ProcessBuilder, Options, Stdio)}; {@code jvmEnvironment}: the caller made the builder and
     * never asked for its environment(), so it is the JVM's own and need not be copied and compared.
     */
    static ProcessDescriptor start(ProcessBuilder builder, boolean jvmEnvironment, Options opts, Stdio stdio) throws IOException {
        try {
            return spawn(builder, jvmEnvironment, opts, stdio);
        } catch (SyscallException e) {
            stdio.closeAll();
            throw ErrnoException.of(e);
        } catch (IOException | RuntimeException e) {
            stdio.closeAll();
            throw e;
        }
    }

    private static ProcessDescriptor spawn(ProcessBuilder builder, boolean jvmEnvironment, Options opts, Stdio stdio) throws IOException, SyscallException {
        Spawner.Request request = request(builder, jvmEnvironment, opts, stdio);
        ControlGroup cgroup = opts.has(SpawnFlag.NEW_CGROUP) ? ControlGroup.create() : null;
        FdkitEvents.ProcessSpawned spawned = FdkitEvents.recorderStarted() ? new FdkitEvents.ProcessSpawned() : null;
        if (spawned != null) spawned.begin();
        Spawner.Child child;
        try {
            child = Spawner.spawn(request, Linux.has(Feature.PIDFD_OPEN));
            if (cgroup != null) moveInto(cgroup, child);
        } catch (IOException | SyscallException | RuntimeException e) {
            if (cgroup != null) cgroup.discard(e);
            throw e;
        }
        if (spawned != null && spawned.shouldCommit()) {
            spawned.command = String.join(" ", request.argv());
            spawned.pid = child.pid();
            spawned.commit();
        }
        stdio.closeChildEnds();
        Pidfd pidfd = child.pidfd() >= 0 ? new Pidfd(child.pidfd()) : null;
        ExitWatch watch = ExitWatch.ofChild(child.pid(), pidfd);
        try {
            watch.watch(); // from birth: that is what guarantees it is reaped
        } catch (RuntimeException e) { // unwatched, it would run unsupervised and end a zombie
            Spawner.killAndReap(child.pid(), e);
            if (pidfd != null) pidfd.fd.close();
            if (cgroup != null) cgroup.discard(e); // empty unless the child forked already (then EBUSY, suppressed)
            throw e;
        }
        if (cgroup != null) cgroup.watch(); // after the move: an empty cgroup counts as done
        boolean leadsGroup = opts.has(SpawnFlag.NEW_PROCESS_GROUP) || opts.has(SpawnFlag.NEW_SESSION);
        return new ProcessDescriptor(watch, stdio.pipes(), opts.has(SpawnFlag.KILL_ON_CLOSE), leadsGroup, cgroup);
    }

    /**
     * Moves the child just spawned into its cgroup, first thing after the spawn (the window SpawnOption.NEW_CGROUP
     * documents). If that fails the child would run outside what the caller asked for: it is killed and reaped.
     */
    private static void moveInto(ControlGroup cgroup, Spawner.Child child) throws ErrnoException {
        try {
            cgroup.adopt(child.pid());
        } catch (ErrnoException | RuntimeException e) {
            Spawner.killAndReap(child.pid(), e);
            if (child.pidfd() >= 0) Syscalls.closeQuietly(child.pidfd());
            throw e;
        }
    }

    private static long pipe2() throws ErrnoException {
        try {
            return Syscalls.pipe2(Uapi.O_CLOEXEC);
        } catch (SyscallException e) {
            throw ErrnoException.of(e);
        }
    }

    /** The builder's command, environment and directory, checked, and its redirects applied to {@code stdio}. */
    private static Spawner.Request request(ProcessBuilder builder, boolean jvmEnvironment, Options opts, Stdio stdio) throws IOException, SyscallException {
        List<String> command = builder.command();
        for (int i = 0; i < command.size(); i++) {
            if (command.get(i) == null) throw new NullPointerException("command[" + i + "] is null");
        }
        List<String> argv = List.copyOf(command);
        if (argv.isEmpty()) throw new IllegalArgumentException("command must not be empty");
        for (String arg : argv) checkNoNul(arg, "command");
        List<String> environment = jvmEnvironment ? Spawner.INHERITED_ENVIRONMENT : environmentOf(builder);
        File dir = builder.directory();
        String directory = dir == null ? null : dir.getPath();
        if (directory != null) checkNoNul(directory, "directory");

        if (!stdio.isSet(0)) stdio.redirect(0, builder.redirectInput());
        if (!stdio.isSet(1)) stdio.redirect(1, builder.redirectOutput());
        if (builder.redirectErrorStream()) stdio.errorToOutput();
        else stdio.redirect(2, builder.redirectError());
        int[] passFrom = opts.passed().isEmpty() ? NOTHING : new int[opts.passed().size()];
        int[] passTo = opts.passed().isEmpty() ? NOTHING : new int[passFrom.length];
        for (int i = 0; i < passFrom.length; i++) {
            PassedDescriptor pass = opts.passed().get(i);
            checkOpen(pass);
            passFrom[i] = pass.parentFd();
            passTo[i] = pass.childFd();
        }
        return new Spawner.Request(argv, environment, directory, stdio.childFd,
                opts.has(SpawnFlag.NEW_SESSION), opts.has(SpawnFlag.NEW_PROCESS_GROUP), passFrom, passTo);
    }

    private static final int[] NOTHING = {}; // no descriptors passed: the common case, shared (never written)

    /** A closed source would fail posix_spawn with a bare EBADF: say which option is wrong instead. */
    private static void checkOpen(PassedDescriptor pass) throws SyscallException {
        try {
            Syscalls.fcntl(pass.parentFd(), Uapi.F_GETFL, 0);
        } catch (SyscallException e) {
            if (e.errno() != dev.fdkit.internal.Errno.EBADF) throw e;
            throw new IllegalArgumentException("options: " + pass + ": parentFd " + pass.parentFd() + " must be an open descriptor of this process", e);
        }
    }

    /** {@link ProcessDescriptor#startPipeline}: each stage's stdout is the next one's stdin, through a pipe only the two children hold. */
    static List<ProcessDescriptor> startPipeline(List<ProcessBuilder> builders, Options opts) throws IOException {
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
            Syscalls.closeQuietly(nextStdin);
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

    /**
     * "NAME=value" entries, or {@link Spawner#INHERITED_ENVIRONMENT} when the builder's environment is the JVM's
     * own, unchanged (the common case): the Spawner then passes one envp built once, instead of copying and
     * re-encoding every variable on every spawn. Comparing the maps costs far less than that copy.
     */
    private static List<String> environmentOf(ProcessBuilder builder) {
        Map<String, String> wanted = builder.environment();
        if (isJvmEnvironment(wanted)) return Spawner.INHERITED_ENVIRONMENT;
        List<String> environment = new ArrayList<>(wanted.size());
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            checkNoNul(e.getKey(), "environment name");
            checkNoNul(e.getValue(), "environment value of " + e.getKey());
            environment.add(e.getKey() + "=" + e.getValue());
        }
        return environment;
    }

    /**
     * {@code wanted.equals(System.getenv())}, against a plain copy: System.getenv()'s own get() encodes the key
     * it is given and hashes the bytes, for every variable compared.
     */
    private static boolean isJvmEnvironment(Map<String, String> wanted) {
        Map<String, String> jvm = JvmEnvironment.COPY;
        if (wanted.size() != jvm.size()) return false;
        for (Map.Entry<String, String> e : wanted.entrySet()) {
            if (!e.getValue().equals(jvm.get(e.getKey()))) return false;
        }
        return true;
    }

    private static final class JvmEnvironment {
        static final Map<String, String> COPY = Map.copyOf(System.getenv()); // System.getenv() never changes
    }

    static void checkNoNul(String s, String what) {
        if (s.indexOf('\0') >= 0) throw new IllegalArgumentException(what + " must not contain a NUL character: " + s.replace("\0", "\\0"));
    }
}
