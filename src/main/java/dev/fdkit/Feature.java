package dev.fdkit;

import dev.fdkit.internal.FeatureId;

/** A kernel, libc or JDK capability fdkit uses when present and falls back from when absent. */
public enum Feature {
    /** pidfd_open(2), Linux 5.3. */
    PIDFD_OPEN(FeatureId.PIDFD_OPEN),
    /** pidfd_open(PIDFD_NONBLOCK), Linux 5.10. */
    PIDFD_NONBLOCK(FeatureId.PIDFD_NONBLOCK),
    /** waitid(P_PIDFD), Linux 5.4. */
    WAITID_P_PIDFD(FeatureId.WAITID_P_PIDFD),
    /** pidfd_send_signal(2), Linux 5.1. */
    PIDFD_SEND_SIGNAL(FeatureId.PIDFD_SEND_SIGNAL),
    /** pidfd_send_signal(PIDFD_SIGNAL_PROCESS_GROUP): a process group signalled through its leader's pidfd, Linux 6.9. */
    PIDFD_SIGNAL_PROCESS_GROUP(FeatureId.PIDFD_SIGNAL_PROCESS_GROUP),
    /** ioctl(PIDFD_GET_INFO), Linux 6.13. */
    PIDFD_GET_INFO(FeatureId.PIDFD_GET_INFO),
    /** PIDFD_INFO_EXIT: the exit status of any process through its pidfd, Linux 6.15. */
    PIDFD_INFO_EXIT(FeatureId.PIDFD_INFO_EXIT),
    /** glibc's pidfd_spawnp, glibc 2.39. */
    PIDFD_SPAWNP(FeatureId.PIDFD_SPAWNP),
    /** futex_waitv(2), Linux 5.16. */
    FUTEX_WAITV(FeatureId.FUTEX_WAITV),
    /** io_uring_setup(2), Linux 5.1; may be disabled by sysctl or seccomp. */
    IO_URING(FeatureId.IO_URING),
    /** IORING_OP_WAITID, Linux 6.7. */
    IO_URING_WAITID(FeatureId.IO_URING_WAITID),
    /** IORING_OP_FUTEX_WAIT / WAKE / WAITV, Linux 6.7. */
    IO_URING_FUTEX(FeatureId.IO_URING_FUTEX),
    /** Linker.Option.critical together with captureCallState, JDK 24. */
    CRITICAL_WITH_ERRNO(FeatureId.CRITICAL_WITH_ERRNO),
    /**
     * {@link SpawnOption#NEW_CGROUP}: cgroup v2 with cgroup.kill (Linux 5.14), and this JVM's own cgroup
     * directory writable (delegated), so that fdkit can create a cgroup per child below it.
     */
    CGROUP_KILL(FeatureId.CGROUP_KILL),
    /**
     * clone3's CLONE_PIDFD_AUTOKILL and CLONE_AUTOREAP (Linux 7.1): the kernel's own kill-on-close and reaping.
     * fdkit spawns through posix_spawn, which cannot pass clone3 flags, so this is never available: it says
     * whether the kernel has them ({@link SpawnOption#KILL_ON_CLOSE} does the same in fdkit).
     */
    CLONE_PIDFD_AUTOKILL(FeatureId.CLONE_PIDFD_AUTOKILL),
    /**
     * fdkit's Flight Recorder events ({@code dev.fdkit.*}: process spawned and exited, poller stall, ring full,
     * io_uring CQ overflow): the JVM has JDK Flight Recorder, so a recording ({@code -XX:StartFlightRecording},
     * {@code jcmd JFR.start}) contains them; {@code jfr print --events 'dev.fdkit.*'} shows them.
     */
    JFR_EVENTS(FeatureId.JFR_EVENTS);

    /** The probe's name for it: the syscall layer knows no public type. */
    private final FeatureId id;

    Feature(FeatureId id) {
        this.id = id;
    }

    /**
     * The name as shown by {@code fdkit features}.
     *
     * @return the syscall, flag or option name, such as {@code pidfd_open}
     */
    public String displayName() {
        return id.displayName();
    }

    /**
     * The feature a {@code -Dfdkit.disable} entry names, matched as the probe matches it: the enum name or the
     * display name, any case, surrounding blanks ignored.
     *
     * @param name an enum name ({@code IO_URING_WAITID}) or display name ({@code io_uring WAITID}); not null
     * @return the feature, or empty when {@code name} names none
     * @throws NullPointerException if {@code name} is null
     */
    public static java.util.Optional<Feature> named(String name) {
        String n = java.util.Objects.requireNonNull(name, "name").trim();
        for (Feature f : values()) {
            if (n.equalsIgnoreCase(f.name()) || n.equalsIgnoreCase(f.displayName())) return java.util.Optional.of(f);
        }
        return java.util.Optional.empty();
    }

    FeatureId id() {
        return id;
    }
}
