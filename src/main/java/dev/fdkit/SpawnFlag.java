package dev.fdkit;

/** The {@link SpawnOption} constants, documented there. */
enum SpawnFlag implements SpawnOption {
    NEW_SESSION,
    NEW_PROCESS_GROUP,
    KILL_ON_CLOSE,
    NEW_CGROUP
}
