package dev.fdkit.internal;

/**
 * What {@link FeatureProbe} probes, in the public {@code Feature} enum's order (the object model maps one to
 * the other; a test holds them equal), with the name {@code fdkit features} and {@code -Dfdkit.disable} use.
 */
public enum FeatureId {
    PIDFD_OPEN("pidfd_open"),
    PIDFD_NONBLOCK("PIDFD_NONBLOCK"),
    WAITID_P_PIDFD("waitid P_PIDFD"),
    PIDFD_SEND_SIGNAL("pidfd_send_signal"),
    PIDFD_SIGNAL_PROCESS_GROUP("PIDFD_SIGNAL_PROCESS_GROUP"),
    PIDFD_GET_INFO("PIDFD_GET_INFO"),
    PIDFD_INFO_EXIT("PIDFD_INFO_EXIT"),
    PIDFD_SPAWNP("pidfd_spawnp"),
    FUTEX_WAITV("futex_waitv"),
    IO_URING("io_uring"),
    IO_URING_WAITID("io_uring WAITID"),
    IO_URING_FUTEX("io_uring FUTEX"),
    CRITICAL_WITH_ERRNO("critical+captureCallState"),
    CGROUP_KILL("cgroup.kill"),
    CLONE_PIDFD_AUTOKILL("CLONE_PIDFD_AUTOKILL"),
    JFR_EVENTS("JFR events");

    private final String displayName;

    FeatureId(String displayName) {
        this.displayName = displayName;
    }

    /** The syscall, flag or option name, such as {@code pidfd_open}. */
    public String displayName() {
        return displayName;
    }
}
