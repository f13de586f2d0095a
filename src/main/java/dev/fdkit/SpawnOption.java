package dev.fdkit;

/** Spawn options beyond what java.lang.ProcessBuilder expresses. */
public enum SpawnOption {
    /** The child starts a new session (setsid): no controlling terminal, its own process group. */
    NEW_SESSION,
    /** The child starts a new process group whose id is its pid (setpgid(0, 0)). */
    NEW_PROCESS_GROUP,
    /**
     * Closing the descriptor (or dropping it unclosed) sends SIGKILL to a child that is still running, then
     * reaps it: FreeBSD's pdfork without PD_DAEMON. Alone, only the child itself is killed, not processes it
     * started (a shell's own children survive). With {@link #NEW_PROCESS_GROUP} or {@link #NEW_SESSION} the
     * whole process group it leads is killed, as {@link ProcessDescriptor#killProcessGroup()} does — also what
     * is left of it after the child itself has exited (on kernels before 6.9: only while the child is unreaped).
     */
    KILL_ON_CLOSE
}
