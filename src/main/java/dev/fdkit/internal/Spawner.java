package dev.fdkit.internal;

import dev.fdkit.internal.linux.fdkit_h;
import dev.fdkit.internal.linux.posix_spawn_file_actions_t;
import dev.fdkit.internal.linux.posix_spawnattr_t;
import dev.fdkit.internal.linux.sigset_t;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * posix_spawnp through FFM: no fork of the JVM, no helper executable. The child gets an empty signal
 * mask and default dispositions for every signal, and exactly descriptors 0-2 (as asked) plus those the
 * request passes, nothing else: everything fdkit opens is close-on-exec, and what the JVM opened without it is closed in the child.
 * <p>
 * With glibc 2.39+ pidfd_spawnp returns the pidfd directly. Otherwise posix_spawnp is followed at once
 * by pidfd_open(pid). That is race-free: the child is ours and unreaped, and nothing else in the JVM
 * reaps it (the JDK only waits for the pids it spawned itself, and nobody sets SIGCHLD to SIG_IGN), so
 * its pid cannot be recycled before the pidfd is open.
 */
public final class Spawner {
    private Spawner() {}

    /**
     * @param argv         program and arguments; argv[0] is searched on PATH
     * @param environment  "NAME=value" entries, the child's whole environment, or
     *                     {@link #INHERITED_ENVIRONMENT} for the JVM's own
     * @param directory    working directory, or null for ours
     * @param stdio        for descriptors 0, 1, 2: our descriptor to dup2 onto it, or -1 to inherit ours
     * @param passFrom     our descriptors to hand to the child, each as {@code passTo} at the same index
     * @param passTo       the child's numbers for them: 3 or more, each at most once
     */
    public record Request(List<String> argv, List<String> environment, String directory, int[] stdio,
                          boolean newSession, boolean newProcessGroup, int[] passFrom, int[] passTo) {
        /** A request that hands the child nothing above stderr. */
        public Request(List<String> argv, List<String> environment, String directory, int[] stdio, boolean newSession, boolean newProcessGroup) {
            this(argv, environment, directory, stdio, newSession, newProcessGroup, new int[0], new int[0]);
        }
    }

    /**
     * Marks a request for the JVM's environment ({@link System#getenv()}): its envp is built once, on first use,
     * and kept for the life of the JVM (System.getenv() never changes). Compared by identity.
     */
    public static final List<String> INHERITED_ENVIRONMENT = List.of("(the JVM's environment)");

    private static final class InheritedEnvp {
        static final MemorySegment ENVP = cStrings(Arena.global(),
                System.getenv().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList());
    }

    /** A started child: its pid and, when pidfds are available, the pidfd (else -1). */
    public record Child(int pid, int pidfd) {}

    private static final MethodHandle PIDFD_SPAWNP = optional("pidfd_spawnp",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle PIDFD_GETPID = optional("pidfd_getpid", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    /** glibc 2.34+; linked here, not generated, because it is optional like pidfd_spawnp. */
    private static final MethodHandle ADDCLOSEFROM = optional("posix_spawn_file_actions_addclosefrom_np",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));

    /**
     * Spawns the child. Failures (exec included: ENOENT, EACCES) throw naming the program.
     * <p>
     * A file that is executable but neither ELF nor {@code #!} (ENOEXEC) is run as a shell script, as execvp(3)
     * and java.lang.ProcessBuilder do: posix_spawnp does not (glibc dropped that from posix_spawn in 2.15), so
     * the spawn is retried as {@code /bin/sh <path> args...}, with the path the PATH search found.
     */
    public static Child spawn(Request request, boolean withPidfd) throws SyscallException {
        try {
            return spawn(request, request.argv(), withPidfd);
        } catch (SyscallException e) {
            String script = e.errno() == Errno.ENOEXEC ? searchPath(request.argv().getFirst(), request.directory()) : null;
            if (script == null) throw e;
            List<String> viaShell = new ArrayList<>(request.argv().size() + 1);
            viaShell.add(SHELL);
            viaShell.add(script);
            viaShell.addAll(request.argv().subList(1, request.argv().size()));
            return spawn(request, viaShell, withPidfd);
        }
    }

    private static final String SHELL = "/bin/sh";
    /** What glibc's PATH search uses when PATH is unset (confstr(_CS_PATH)). */
    private static final String DEFAULT_PATH = "/bin:/usr/bin";

    /**
     * The file posix_spawnp executed for {@code program}: itself if it has a slash, else the first PATH entry
     * (the JVM's PATH, as posix_spawnp searches; relative entries relative to the child's directory) holding an
     * executable regular file of that name -- the one execve would have tried before stopping at ENOEXEC.
     * Null if none is found any more.
     */
    private static String searchPath(String program, String directory) {
        if (program.indexOf('/') >= 0) return program;
        String path = System.getenv("PATH");
        Path base = Path.of(directory == null ? "" : directory);
        for (String entry : (path == null ? DEFAULT_PATH : path).split(":", -1)) {
            String candidate = (entry.isEmpty() ? "." : entry) + "/" + program;
            Path file = base.resolve(candidate);
            if (Files.isRegularFile(file) && Files.isExecutable(file)) return candidate;
        }
        return null;
    }

    private static Child spawn(Request request, List<String> arguments, boolean withPidfd) throws SyscallException {
        String program = arguments.getFirst();
        MemorySegment attributes = attributes(request);
        try (Arena arena = Arena.ofConfined()) { // one per spawn, for what varies in size (argv, envp), freed before we return
            MemorySegment argv = cStrings(arena, arguments);
            MemorySegment envp = request.environment() == INHERITED_ENVIRONMENT ? InheritedEnvp.ENVP : cStrings(arena, request.environment());
            MemorySegment file = argv.getAtIndex(ADDRESS, 0); // the program is argv[0]
            MemorySegment out = arena.allocate(JAVA_INT);
            MemorySegment shared = plainActions(request, program);
            boolean plain = shared != null;
            MemorySegment actions = plain ? shared : arena.allocate(posix_spawn_file_actions_t.layout());
            if (!plain) check(fdkit_h.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init", program);
            try {
                if (!plain) describeFiles(arena, request, actions, program);
                if (withPidfd && PIDFD_SPAWNP != null && PIDFD_GETPID != null) {
                    checkSpawn(invoke(PIDFD_SPAWNP, out, file, actions, attributes, argv, envp), "pidfd_spawnp", request);
                    int pidfd = out.get(JAVA_INT, 0);
                    return new Child(pidOf(pidfd), pidfd);
                }
                checkSpawn(fdkit_h.posix_spawnp(out, file, actions, attributes, argv, envp), "posix_spawnp", request);
                int pid = out.get(JAVA_INT, 0);
                return new Child(pid, withPidfd ? pidfdOf(pid, program) : -1);
            } finally {
                if (!plain) fdkit_h.posix_spawn_file_actions_destroy(actions);
            }
        }
    }

    /**
     * The file actions of a request that redirects nothing, passes nothing and keeps our directory: only "close
     * everything from 3 up", the same for every such spawn, so built once, on first use (posix_spawn only reads
     * them: const), and kept for the life of the JVM. Null for any other request, and without
     * posix_spawn_file_actions_addclosefrom_np (the list then depends on what is open now: built per spawn).
     */
    private static MemorySegment plainActions(Request request, String program) throws SyscallException {
        int[] stdio = request.stdio();
        boolean plain = stdio[0] < 0 && stdio[1] < 0 && stdio[2] < 0 && request.passFrom().length == 0 && request.directory() == null;
        if (!plain || ADDCLOSEFROM == null) return null;
        MemorySegment actions = plainActions;
        return actions != null ? actions : buildPlainActions(program);
    }

    private static volatile MemorySegment plainActions; // written once, under Spawner.class

    private static synchronized MemorySegment buildPlainActions(String program) throws SyscallException {
        if (plainActions != null) return plainActions;
        MemorySegment actions = Arena.ofAuto().allocate(posix_spawn_file_actions_t.layout()); // reachable from here for good
        check(fdkit_h.posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init", program);
        try {
            closeEverythingAbove(3, actions, program);
        } catch (SyscallException | RuntimeException e) { // ENOMEM: the next spawn tries again
            fdkit_h.posix_spawn_file_actions_destroy(actions);
            throw e;
        }
        plainActions = actions;
        return actions;
    }

    /**
     * The spawn attributes for the request's session and group flags: each of the four is the same for every
     * spawn, so built once, on first use (posix_spawn only reads them: const), and kept for the life of the JVM.
     */
    private static MemorySegment attributes(Request request) throws SyscallException {
        int index = (request.newSession() ? 1 : 0) | (request.newProcessGroup() ? 2 : 0);
        MemorySegment attributes = ATTRIBUTES.get(index);
        return attributes != null ? attributes : buildAttributes(index, request);
    }

    private static final AtomicReferenceArray<MemorySegment> ATTRIBUTES = new AtomicReferenceArray<>(4); // each written once, under Spawner.class

    private static synchronized MemorySegment buildAttributes(int index, Request request) throws SyscallException {
        if (ATTRIBUTES.get(index) != null) return ATTRIBUTES.get(index);
        String program = request.argv().getFirst();
        MemorySegment attributes = Arena.ofAuto().allocate(posix_spawnattr_t.layout()); // reachable from ATTRIBUTES for good
        check(fdkit_h.posix_spawnattr_init(attributes), "posix_spawnattr_init", program); // glibc's holds no other memory: no destroy needed
        describeAttributes(request, attributes, program);
        ATTRIBUTES.set(index, attributes);
        return attributes;
    }

    private static void describeFiles(Arena arena, Request request, MemorySegment actions, String program)
            throws SyscallException {
        int parked = parkPassedDescriptors(request, actions, program);
        for (int target = 0; target < 3; target++) {
            int source = request.stdio()[target];
            // dup2 clears close-on-exec on the target; glibc 2.29+ also does so when source == target.
            if (source >= 0) check(fdkit_h.posix_spawn_file_actions_adddup2(actions, source, target), "posix_spawn_file_actions_adddup2", program);
        }
        int closeFrom = placePassedDescriptors(request, parked, actions, program);
        closeEverythingAbove(closeFrom, actions, program);
        if (request.directory() != null) {
            check(fdkit_h.posix_spawn_file_actions_addchdir_np(actions, arena.allocateFrom(request.directory())),
                    "posix_spawn_file_actions_addchdir_np", program);
        }
    }

    private static void describeAttributes(Request request, MemorySegment attributes, String program) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) { // the sets are copied into the attributes
            MemorySegment emptyMask = arena.allocate(sigset_t.layout());
            MemorySegment allSignals = arena.allocate(sigset_t.layout());
            fdkit_h.sigemptyset(emptyMask);
            // Every bit set by hand, not with sigfillset: sigfillset leaves out glibc's internal signals (32 and 33,
            // SIGCANCEL and SIGSETXID), and glibc's spawn child sets each internal signal that is not in the
            // default set to SIG_IGN -- which survives execve. The child would start with SigIgn 0x180000000, as
            // java.lang.ProcessBuilder's children on glibc 2.36 do. posix_spawnattr_setsigdefault copies the set
            // as it is; the child resets each member to SIG_DFL (and ignores the EINVAL for SIGKILL and SIGSTOP).
            allSignals.fill((byte) 0xff);
            check(fdkit_h.posix_spawnattr_setsigmask(attributes, emptyMask), "posix_spawnattr_setsigmask", program);
            check(fdkit_h.posix_spawnattr_setsigdefault(attributes, allSignals), "posix_spawnattr_setsigdefault", program);
        }
        int flags = fdkit_h.POSIX_SPAWN_SETSIGMASK() | fdkit_h.POSIX_SPAWN_SETSIGDEF();
        if (request.newSession()) flags |= fdkit_h.POSIX_SPAWN_SETSID();
        if (request.newProcessGroup()) {
            flags |= fdkit_h.POSIX_SPAWN_SETPGROUP();
            check(fdkit_h.posix_spawnattr_setpgroup(attributes, 0), "posix_spawnattr_setpgroup", program);
        }
        check(fdkit_h.posix_spawnattr_setflags(attributes, (short) flags), "posix_spawnattr_setflags", program);
    }

    /**
     * The first step of handing descriptors to the child, before anything else touches its table: each source
     * is copied to a fresh number above every source and target (as Go's forkExec does), so that no dup2 onto
     * a target, nor onto 0-2, can overwrite a source still to be copied (ours 7 as its 3 and ours 3 as its 7).
     * Returns that first fresh number; the copies are at it, it + 1, ... in request order.
     */
    private static int parkPassedDescriptors(Request request, MemorySegment actions, String program) throws SyscallException {
        int[] from = request.passFrom();
        if (from.length == 0) return -1;
        int highest = 2;
        for (int fd : from) highest = Math.max(highest, fd);
        for (int fd : request.passTo()) highest = Math.max(highest, fd);
        for (int fd : request.stdio()) highest = Math.max(highest, fd);
        for (int i = 0; i < from.length; i++) {
            check(fdkit_h.posix_spawn_file_actions_adddup2(actions, from[i], highest + 1 + i), "posix_spawn_file_actions_adddup2", program);
        }
        return highest + 1;
    }

    /**
     * Moves the parked copies onto their targets (dup2 leaves them without close-on-exec) and closes the
     * numbers between 3 and the highest target that are not targets. Returns the number above which
     * everything is to be closed (the parked copies included).
     */
    private static int placePassedDescriptors(Request request, int parked, MemorySegment actions, String program) throws SyscallException {
        int[] to = request.passTo();
        if (to.length == 0) return 3;
        int highestTarget = 2;
        java.util.BitSet targets = new java.util.BitSet();
        for (int i = 0; i < to.length; i++) {
            check(fdkit_h.posix_spawn_file_actions_adddup2(actions, parked + i, to[i]), "posix_spawn_file_actions_adddup2", program);
            targets.set(to[i]);
            highestTarget = Math.max(highestTarget, to[i]);
        }
        // glibc ignores EBADF for a close action of a number that is not open
        for (int fd = 3; fd < highestTarget; fd++) {
            if (!targets.get(fd)) check(fdkit_h.posix_spawn_file_actions_addclose(actions, fd), "posix_spawn_file_actions_addclose", program);
        }
        for (int i = 0; i < to.length; i++) { // also closed by closefrom; listed for glibc without it, which lists only what is open here
            check(fdkit_h.posix_spawn_file_actions_addclose(actions, parked + i), "posix_spawn_file_actions_addclose", program);
        }
        return highestTarget + 1;
    }

    /**
     * Closes descriptors {@code lowest} (3, or just above the highest passed one) and up in the child, after the dup2s onto 0-2. fdkit opens everything close-on-exec,
     * but the JVM does not: java.io streams, class-path jars and /dev/random are open without O_CLOEXEC, and
     * posix_spawn (unlike the JDK's own launcher, which closes them) would hand them all to the child.
     * glibc 2.34+ has posix_spawn_file_actions_addclosefrom_np (close_range in the child). Before that, each
     * descriptor open now is closed one by one; glibc's spawn ignores EBADF for a close action, so one that is
     * closed meanwhile does no harm, but one opened by another thread after the listing is not covered.
     */
    private static void closeEverythingAbove(int lowest, MemorySegment actions, String program) throws SyscallException {
        if (ADDCLOSEFROM != null) {
            int error;
            try {
                error = (int) ADDCLOSEFROM.invokeExact(actions, lowest);
            } catch (Throwable t) {
                throw new AssertionError("posix_spawn_file_actions_addclosefrom_np failed", t);
            }
            check(error, "posix_spawn_file_actions_addclosefrom_np", program);
            return;
        }
        try (var entries = Files.newDirectoryStream(Path.of("/proc/self/fd"))) {
            for (Path entry : entries) {
                int fd = Integer.parseInt(entry.getFileName().toString());
                if (fd >= lowest) check(fdkit_h.posix_spawn_file_actions_addclose(actions, fd), "posix_spawn_file_actions_addclose", program);
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot list /proc/self/fd to keep descriptors from the child", e);
        }
    }

    /** A NULL-terminated char*[] of the strings (UTF-8), in one allocation: the pointers, then the strings they point to. */
    private static MemorySegment cStrings(Arena arena, List<String> strings) {
        int n = strings.size();
        byte[][] encoded = new byte[n][];
        long pointers = (n + 1) * ADDRESS.byteSize();
        long size = pointers;
        for (int i = 0; i < n; i++) {
            encoded[i] = strings.get(i).getBytes(StandardCharsets.UTF_8);
            size += encoded[i].length + 1;
        }
        MemorySegment block = arena.allocate(size, ADDRESS.byteAlignment()); // zeroed: each string's NUL is there already
        long offset = pointers;
        for (int i = 0; i < n; i++) {
            MemorySegment.copy(encoded[i], 0, block, JAVA_BYTE, offset, encoded[i].length);
            block.setAtIndex(ADDRESS, i, block.asSlice(offset));
            offset += encoded[i].length + 1;
        }
        block.setAtIndex(ADDRESS, n, MemorySegment.NULL);
        return block;
    }

    /**
     * A failed spawn names the program, unless the child's chdir failed: posix_spawn reports that with the
     * same errno (ENOENT, EACCES...) as a missing program, so the directory is checked here.
     */
    private static void checkSpawn(int error, String function, Request request) throws SyscallException {
        if (error == 0) return;
        String directory = request.directory();
        if (directory != null) {
            Path dir = Path.of(directory);
            if (!Files.isDirectory(dir) || !Files.isExecutable(dir)) {
                throw new SyscallException("chdir", "\"" + directory + "\", the working directory for \"" + request.argv().getFirst() + "\"", error);
            }
        }
        check(error, function, request.argv().getFirst());
    }

    /** posix_spawn* functions return the error number instead of setting errno. */
    private static void check(int error, String function, String program) throws SyscallException {
        if (error != 0) throw new SyscallException(function, "\"" + program + "\"", error);
    }

    /**
     * pidfd_open on the child just spawned. If that fails (EMFILE, ENFILE, ENOMEM) the child is already
     * running, and nothing would watch it, signal it or reap it: it would run unsupervised, then stay a
     * zombie. So it is killed and reaped here (its pid is still ours: unreaped), and the error reported.
     */
    private static int pidfdOf(int pid, String program) throws SyscallException {
        try {
            return Syscalls.pidfdOpen(pid, 0);
        } catch (SyscallException e) {
            killAndReap(pid, e);
            SyscallException named = new SyscallException("pidfd_open", "pid=" + pid + " of \"" + program + "\", which was killed", e.errno());
            for (Throwable s : e.getSuppressed()) named.addSuppressed(s);
            throw named;
        }
    }

    /**
     * For a child that could not be put under supervision: SIGKILL and reap it (its pid is still ours,
     * being unreaped), so it neither runs unwatched nor stays a zombie. Cleanup errors go to {@code failure}.
     */
    public static void killAndReap(int pid, Throwable failure) {
        try {
            Syscalls.kill(pid, fdkit_h.SIGKILL());
            Syscalls.waitid(fdkit_h.P_PID(), pid, fdkit_h.WEXITED(), true); // SIGKILL: returns promptly
        } catch (SyscallException cleanup) {
            failure.addSuppressed(cleanup);
        }
    }

    private static int pidOf(int pidfd) throws SyscallException {
        try {
            int pid = (int) PIDFD_GETPID.invokeExact(pidfd);
            if (pid > 0) return pid;
            throw new SyscallException("pidfd_getpid", "pidfd=" + pidfd, Errno.EINVAL);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError("pidfd_getpid failed", t);
        }
    }

    private static int invoke(MethodHandle h, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment d, MemorySegment e, MemorySegment f) {
        try {
            return (int) h.invokeExact(a, b, c, d, e, f);
        } catch (Throwable t) {
            throw new AssertionError("pidfd_spawnp failed", t);
        }
    }

    private static MethodHandle optional(String name, FunctionDescriptor descriptor) {
        Linker linker = Linker.nativeLinker();
        return linker.defaultLookup().find(name).map(address -> linker.downcallHandle(address, descriptor)).orElse(null);
    }
}
