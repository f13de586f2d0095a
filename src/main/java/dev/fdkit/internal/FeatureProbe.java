package dev.fdkit.internal;

import dev.fdkit.internal.linux.fdkit_h;
import dev.fdkit.internal.linux.io_uring_params;
import dev.fdkit.internal.linux.io_uring_probe;
import dev.fdkit.internal.linux.io_uring_probe_op;
import dev.fdkit.internal.linux.pidfd_info;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Probes each {@link FeatureId} by trying it on harmless arguments and reading the errno:
 * ENOSYS (kernel too old, or seccomp), EPERM (seccomp or sysctl), EINVAL (flag unknown to this kernel).
 * A pure function of the machine and its argument: reads no system property, caches nothing (the object
 * model probes once and caches, see {@code Linux}).
 */
public final class FeatureProbe {
    /** The system property that lists features to treat as unavailable ({@code -Dfdkit.disable=pidfd_open,io_uring}); read by the object model. */
    public static final String DISABLE_PROPERTY = "fdkit.disable";

    /**
     * One feature's answer.
     *
     * @param cause why not (kernel too old, EPERM from seccomp, sysctl, missing glibc symbol, JDK too old),
     *              or how it was confirmed when available
     */
    public record Answer(FeatureId id, boolean available, String cause) {}

    private final Set<FeatureId> disabled;
    private final Map<FeatureId, Answer> results = new EnumMap<>(FeatureId.class);

    private FeatureProbe(Set<FeatureId> disabled) {
        this.disabled = disabled;
    }

    /**
     * Every feature's answer, in {@link FeatureId} order. A feature in {@code disabled} is reported unavailable
     * ("disabled by -Dfdkit.disable"), and so is everything that needs it.
     */
    public static List<Answer> probeAll(Set<FeatureId> disabled) {
        return new FeatureProbe(Set.copyOf(disabled)).probe();
    }

    private List<Answer> probe() {
        int pid = (int) ProcessHandle.current().pid();
        int selfPidfd = -1;
        try {
            try {
                selfPidfd = Syscalls.pidfdOpen(pid, 0);
                put(FeatureId.PIDFD_OPEN, true, "pidfd_open(self) succeeded");
            } catch (SyscallException e) { // EMFILE: no descriptor to spare, yet the call exists
                putFailed(FeatureId.PIDFD_OPEN, "pidfd_open(self)", e.errno(), "5.3");
            }
            if (!results.get(FeatureId.PIDFD_OPEN).available()) { // also when -Dfdkit.disable turned it off
                for (FeatureId f : List.of(FeatureId.PIDFD_NONBLOCK, FeatureId.WAITID_P_PIDFD, FeatureId.PIDFD_SEND_SIGNAL,
                        FeatureId.PIDFD_SIGNAL_PROCESS_GROUP, FeatureId.PIDFD_GET_INFO, FeatureId.PIDFD_INFO_EXIT)) {
                    put(f, false, "needs pidfd_open, which is unavailable");
                }
            } else {
                probePidfd(pid, selfPidfd);
            }
        } finally {
            if (selfPidfd >= 0) Syscalls.closeQuietly(selfPidfd);
        }
        if (Syscalls.hasSymbol("pidfd_spawnp")) {
            put(FeatureId.PIDFD_SPAWNP, true, "glibc " + glibcVersion() + " exports pidfd_spawnp");
        } else {
            put(FeatureId.PIDFD_SPAWNP, false, "glibc " + glibcVersion() + " has no pidfd_spawnp (glibc 2.39+); posix_spawnp + pidfd_open is used");
        }
        long waitv = Syscalls.syscallRaw(fdkit_h.SYS_futex_waitv(), 0, 0, 0, 0, 0);
        if (waitv == -Errno.EINVAL) put(FeatureId.FUTEX_WAITV, true, "futex_waitv(nr=0) answered EINVAL as expected");
        else put(FeatureId.FUTEX_WAITV, false, explain((int) -waitv, "5.16"));
        probeIoUring();
        if (Syscalls.criticalWithErrno()) {
            put(FeatureId.CRITICAL_WITH_ERRNO, true, "JDK " + Runtime.version().feature() + " links critical downcalls with errno capture");
        } else {
            put(FeatureId.CRITICAL_WITH_ERRNO, false, "JDK " + Runtime.version().feature() + " cannot combine critical with captureCallState (JDK 24+)");
        }
        CgroupFs.Probe cgroup = CgroupFs.probe();
        put(FeatureId.CGROUP_KILL, cgroup.directory() != null, cgroup.cause());
        // Probed by release, not by a call: no clone3 call can tell the flags apart without possibly creating a
        // process (every check before that answers EINVAL alike), and fdkit could not use them anyway.
        put(FeatureId.CLONE_PIDFD_AUTOKILL, false, kernelAtLeast(7, 1)
                ? "kernel " + kernelRelease() + " >= 7.1 has it, but posix_spawn cannot pass clone3 flags; KILL_ON_CLOSE is fdkit's own"
                : "kernel " + kernelRelease() + " is older than 7.1");
        put(FeatureId.JFR_EVENTS, jdk.jfr.FlightRecorder.isAvailable(), jdk.jfr.FlightRecorder.isAvailable()
                ? "Flight Recorder is available: a recording holds the dev.fdkit.* events (jfr print --events 'dev.fdkit.*')"
                : "this JVM runs without Flight Recorder (-XX:-FlightRecorder, or a runtime image without it): no events");
        List<Answer> all = new ArrayList<>();
        for (FeatureId f : FeatureId.values()) all.add(results.get(f));
        return List.copyOf(all);
    }

    /**
     * @param selfPidfd a pidfd on this process, or -1 when none could be opened (EMFILE): the calls are then
     *                  probed on {@link #NEVER_OPEN}, and PIDFD_GET_INFO, which needs a real one, by release
     */
    private void probePidfd(int pid, int selfPidfd) {
        int pidfd = selfPidfd >= 0 ? selfPidfd : NEVER_OPEN;
        try {
            Syscalls.closeQuietly(Syscalls.pidfdOpen(pid, fdkit_h.PIDFD_NONBLOCK()));
            put(FeatureId.PIDFD_NONBLOCK, true, "pidfd_open(self, PIDFD_NONBLOCK) succeeded");
        } catch (SyscallException e) { // the flags are checked before a descriptor is allocated
            putFailed(FeatureId.PIDFD_NONBLOCK, "pidfd_open(self, PIDFD_NONBLOCK)", e.errno(), "5.10");
        }
        try {
            // Our own process is not our child: a kernel that knows P_PIDFD answers ECHILD (EBADF for NEVER_OPEN),
            // an older one EINVAL.
            Syscalls.waitid(fdkit_h.P_PIDFD(), pidfd, fdkit_h.WEXITED() | fdkit_h.WNOHANG(), true);
            put(FeatureId.WAITID_P_PIDFD, true, "waitid(P_PIDFD, self) answered ECHILD as expected");
        } catch (SyscallException e) {
            putFailed(FeatureId.WAITID_P_PIDFD, "waitid(P_PIDFD)", e.errno(), "5.4");
        }
        try {
            Syscalls.pidfdSendSignal(pidfd, 0, 0);
            put(FeatureId.PIDFD_SEND_SIGNAL, true, "pidfd_send_signal(self, 0) succeeded");
        } catch (SyscallException e) {
            putFailed(FeatureId.PIDFD_SEND_SIGNAL, "pidfd_send_signal", e.errno(), "5.1");
        }
        if (!results.get(FeatureId.PIDFD_SEND_SIGNAL).available()) {
            put(FeatureId.PIDFD_SIGNAL_PROCESS_GROUP, false, "needs pidfd_send_signal, which is unavailable");
        } else {
            try {
                // Signal 0 only checks. The kernel checks the flags before it looks for the group (or the
                // descriptor), so ESRCH (we need not lead a group) means the flag is known; an older kernel answers EINVAL.
                Syscalls.pidfdSendSignal(pidfd, 0, Uapi.PIDFD_SIGNAL_PROCESS_GROUP);
                put(FeatureId.PIDFD_SIGNAL_PROCESS_GROUP, true, "pidfd_send_signal(self, 0, PIDFD_SIGNAL_PROCESS_GROUP) accepted the flag");
            } catch (SyscallException e) {
                putFailed(FeatureId.PIDFD_SIGNAL_PROCESS_GROUP, "pidfd_send_signal(PIDFD_SIGNAL_PROCESS_GROUP)", e.errno(), "6.9");
            }
        }
        if (selfPidfd < 0) {
            putByRelease(FeatureId.PIDFD_GET_INFO, 6, 13, "no descriptor free for a pidfd to ask");
        } else {
            probeGetInfo(selfPidfd);
        }
        // A live process never reports PIDFD_INFO_EXIT, so the answer comes from the release that added it.
        if (!results.get(FeatureId.PIDFD_GET_INFO).available()) put(FeatureId.PIDFD_INFO_EXIT, false, "needs PIDFD_GET_INFO, which is unavailable");
        else if (kernelAtLeast(6, 15)) put(FeatureId.PIDFD_INFO_EXIT, true, "kernel " + kernelRelease() + " >= 6.15");
        else put(FeatureId.PIDFD_INFO_EXIT, false, "kernel " + kernelRelease() + " is older than 6.15");
    }

    private void probeGetInfo(int selfPidfd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(pidfd_info.layout());
            pidfd_info.mask(info, fdkit_h.PIDFD_INFO_PID() | fdkit_h.PIDFD_INFO_EXIT());
            int r = Syscalls.ioctlRaw(selfPidfd, fdkit_h.PIDFD_GET_INFO(), info);
            if (r < 0) {
                String cause = -r == Errno.ENOTTY || -r == Errno.EINVAL ? "kernel " + kernelRelease() + " has no PIDFD_GET_INFO (Linux 6.13+)" : explain(-r, "6.13");
                put(FeatureId.PIDFD_GET_INFO, false, cause);
            } else {
                put(FeatureId.PIDFD_GET_INFO, true, "ioctl(PIDFD_GET_INFO) on self succeeded");
            }
        }
    }

    private void probeIoUring() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(io_uring_params.layout());
            long fd = Syscalls.syscallRaw(fdkit_h.SYS_io_uring_setup(), 1, params.address(), 0, 0, 0);
            if (fd < 0 && callExists((int) -fd)) { // EMFILE: no ring to ask which operations it has
                putFailed(FeatureId.IO_URING, "io_uring_setup", (int) -fd, "5.1");
                for (FeatureId op : List.of(FeatureId.IO_URING_WAITID, FeatureId.IO_URING_FUTEX)) {
                    if (results.get(FeatureId.IO_URING).available()) putByRelease(op, 6, 7, "no descriptor free for a ring to ask");
                    else put(op, false, "needs io_uring, which is unavailable"); // -Dfdkit.disable
                }
                return;
            }
            if (fd < 0) {
                String sysctl = ioUringSysctl();
                // 0 enables io_uring for everyone: an EPERM then comes from elsewhere (seccomp), not the sysctl.
                String cause = fd == -Errno.EPERM && sysctl != null && !sysctl.equals("0")
                        ? "disabled: sysctl kernel.io_uring_disabled=" + sysctl + " (EPERM)"
                        : explain((int) -fd, "5.1");
                put(FeatureId.IO_URING, false, cause);
                put(FeatureId.IO_URING_WAITID, false, "needs io_uring, which is unavailable");
                put(FeatureId.IO_URING_FUTEX, false, "needs io_uring, which is unavailable");
                return;
            }
            try {
                put(FeatureId.IO_URING, true, "io_uring_setup(1) succeeded");
                if (!results.get(FeatureId.IO_URING).available()) { // disabled by -Dfdkit.disable: so are its ops
                    put(FeatureId.IO_URING_WAITID, false, "needs io_uring, which is unavailable");
                    put(FeatureId.IO_URING_FUTEX, false, "needs io_uring, which is unavailable");
                    return;
                }
                int opCount = 256;
                MemorySegment probe = arena.allocate(io_uring_probe.layout().byteSize() + opCount * io_uring_probe_op.layout().byteSize(), 8);
                long r = Syscalls.syscallRaw(fdkit_h.SYS_io_uring_register(), fd, fdkit_h.IORING_REGISTER_PROBE(), probe.address(), opCount, 0);
                if (r < 0) {
                    String cause = "IORING_REGISTER_PROBE failed: " + Errno.name((int) -r);
                    put(FeatureId.IO_URING_WAITID, false, cause);
                    put(FeatureId.IO_URING_FUTEX, false, cause);
                    return;
                }
                boolean waitid = opSupported(probe, fdkit_h.FDKIT_IORING_OP_WAITID());
                boolean futex = opSupported(probe, fdkit_h.FDKIT_IORING_OP_FUTEX_WAIT()) && opSupported(probe, fdkit_h.FDKIT_IORING_OP_FUTEX_WAKE())
                        && opSupported(probe, fdkit_h.FDKIT_IORING_OP_FUTEX_WAITV());
                put(FeatureId.IO_URING_WAITID, waitid, waitid ? "IORING_REGISTER_PROBE lists it" : "not in IORING_REGISTER_PROBE (Linux 6.7+)");
                put(FeatureId.IO_URING_FUTEX, futex, futex ? "IORING_REGISTER_PROBE lists them" : "not in IORING_REGISTER_PROBE (Linux 6.7+)");
            } finally {
                Syscalls.closeQuietly((int) fd);
            }
        }
    }

    private static boolean opSupported(MemorySegment probe, int op) {
        int opsLength = Byte.toUnsignedInt(io_uring_probe.ops_len(probe));
        if (op >= opsLength) return false;
        MemorySegment entry = probe.asSlice(io_uring_probe.layout().byteSize() + op * io_uring_probe_op.layout().byteSize(),
                io_uring_probe_op.layout().byteSize());
        return (io_uring_probe_op.flags(entry) & fdkit_h.IO_URING_OP_SUPPORTED()) != 0;
    }

    /** A descriptor number that is never open (above the ceiling of fs.nr_open): a call that knows it answers EBADF. */
    private static final int NEVER_OPEN = Integer.MAX_VALUE;

    /**
     * Whether a probe that failed with {@code errno} still shows the call exists. ENOSYS (kernel too old, or
     * seccomp), EPERM (seccomp, sysctl) and EINVAL (unknown flag or id type) say it cannot be used. Any other
     * errno (EMFILE, ENFILE or ENOMEM at the descriptor limit, EBADF for NEVER_OPEN) comes from a kernel that
     * accepted the call and went on to do it; fdkit's own calls then report that errno when they meet it. A
     * transient shortage must not be cached as "unsupported" for the life of the JVM.
     */
    private static boolean callExists(int errno) {
        return errno != Errno.ENOSYS && errno != Errno.EPERM && errno != Errno.EINVAL;
    }

    private void putFailed(FeatureId feature, String call, int errno, String sinceLinux) {
        if (callExists(errno)) put(feature, true, call + " answered " + Errno.name(errno) + ": the kernel has the call");
        else put(feature, false, explain(errno, sinceLinux));
    }

    /** For what could not be asked directly: the release that added it answers. */
    private void putByRelease(FeatureId feature, int major, int minor, String why) {
        boolean has = kernelAtLeast(major, minor);
        put(feature, has, "kernel " + kernelRelease() + (has ? " >= " : " is older than ") + major + "." + minor + " (" + why + ")");
    }

    private void put(FeatureId feature, boolean available, String cause) {
        if (available && disabled.contains(feature)) {
            results.put(feature, new Answer(feature, false, "disabled by -D" + DISABLE_PROPERTY));
        } else {
            results.put(feature, new Answer(feature, available, cause));
        }
    }

    private static String explain(int errno, String sinceLinux) {
        if (errno == Errno.ENOSYS) return "ENOSYS: kernel " + kernelRelease() + " lacks it (Linux " + sinceLinux + "+) or seccomp blocks it";
        if (errno == Errno.EPERM) return "EPERM: blocked, most likely by a seccomp profile (container)";
        if (errno == Errno.EINVAL) return "EINVAL: kernel " + kernelRelease() + " does not know it (Linux " + sinceLinux + "+)";
        return Errno.name(errno) + " (" + Errno.description(errno) + ")";
    }

    private static String ioUringSysctl() {
        try {
            // Not Files.readString: it may read 1 byte first, and integer sysctls answer EOF to any read at offset > 0.
            return Files.readAllLines(Path.of("/proc/sys/kernel/io_uring_disabled")).get(0).trim();
        } catch (IOException e) {
            return null;
        }
    }

    public static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return System.getProperty("os.version");
        }
    }

    public static String glibcVersion() {
        return Syscalls.glibcVersion();
    }

    static boolean kernelAtLeast(int major, int minor) {
        String[] parts = kernelRelease().split("[.-]");
        try {
            int ma = Integer.parseInt(parts[0]);
            int mi = Integer.parseInt(parts[1]);
            return ma > major || (ma == major && mi >= minor);
        } catch (RuntimeException e) {
            return false;
        }
    }
}
