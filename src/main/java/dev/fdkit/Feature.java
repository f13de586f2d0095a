package dev.fdkit;

/** A kernel, libc or JDK capability fdkit uses when present and falls back from when absent. */
public enum Feature {
    /** pidfd_open(2), Linux 5.3. */
    PIDFD_OPEN("pidfd_open"),
    /** pidfd_open(PIDFD_NONBLOCK), Linux 5.10. */
    PIDFD_NONBLOCK("PIDFD_NONBLOCK"),
    /** waitid(P_PIDFD), Linux 5.4. */
    WAITID_P_PIDFD("waitid P_PIDFD"),
    /** pidfd_send_signal(2), Linux 5.1. */
    PIDFD_SEND_SIGNAL("pidfd_send_signal"),
    /** pidfd_send_signal(PIDFD_SIGNAL_PROCESS_GROUP): a process group signalled through its leader's pidfd, Linux 6.9. */
    PIDFD_SIGNAL_PROCESS_GROUP("PIDFD_SIGNAL_PROCESS_GROUP"),
    /** ioctl(PIDFD_GET_INFO), Linux 6.13. */
    PIDFD_GET_INFO("PIDFD_GET_INFO"),
    /** PIDFD_INFO_EXIT: the exit status of any process through its pidfd, Linux 6.15. */
    PIDFD_INFO_EXIT("PIDFD_INFO_EXIT"),
    /** glibc's pidfd_spawnp, glibc 2.39. */
    PIDFD_SPAWNP("pidfd_spawnp"),
    /** futex_waitv(2), Linux 5.16. */
    FUTEX_WAITV("futex_waitv"),
    /** io_uring_setup(2), Linux 5.1; may be disabled by sysctl or seccomp. */
    IO_URING("io_uring"),
    /** IORING_OP_WAITID, Linux 6.7. */
    IO_URING_WAITID("io_uring WAITID"),
    /** IORING_OP_FUTEX_WAIT / WAKE / WAITV, Linux 6.7. */
    IO_URING_FUTEX("io_uring FUTEX"),
    /** Linker.Option.critical together with captureCallState, JDK 24. */
    CRITICAL_WITH_ERRNO("critical+captureCallState"),
    /**
     * {@link SpawnOption#NEW_CGROUP}: cgroup v2 with cgroup.kill (Linux 5.14), and this JVM's own cgroup
     * directory writable (delegated), so that fdkit can create a cgroup per child below it.
     */
    CGROUP_KILL("cgroup.kill"),
    /**
     * clone3's CLONE_PIDFD_AUTOKILL and CLONE_AUTOREAP (Linux 7.1): the kernel's own kill-on-close and reaping.
     * fdkit spawns through posix_spawn, which cannot pass clone3 flags, so this is never available: it says
     * whether the kernel has them ({@link SpawnOption#KILL_ON_CLOSE} does the same in fdkit).
     */
    CLONE_PIDFD_AUTOKILL("CLONE_PIDFD_AUTOKILL");

    private final String displayName;

    Feature(String displayName) {
        this.displayName = displayName;
    }

    /**
     * The name as shown by {@code fdkit features}.
     *
     * @return the syscall, flag or option name, such as {@code pidfd_open}
     */
    public String displayName() {
        return displayName;
    }
}
