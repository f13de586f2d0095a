package dev.fdkit;

/**
 * Spawn options beyond what java.lang.ProcessBuilder expresses: the constants below, and
 * {@link #passDescriptor(int, int)}. Pass each at most once (each child descriptor number at most once).
 */
public sealed interface SpawnOption permits SpawnFlag, PassedDescriptor {
    /** The child starts a new session (setsid): no controlling terminal, its own process group. */
    SpawnOption NEW_SESSION = SpawnFlag.NEW_SESSION;
    /** The child starts a new process group whose id is its pid (setpgid(0, 0)). */
    SpawnOption NEW_PROCESS_GROUP = SpawnFlag.NEW_PROCESS_GROUP;
    /**
     * Closing the descriptor (or dropping it unclosed) sends SIGKILL to a child that is still running, then
     * reaps it: FreeBSD's pdfork without PD_DAEMON. Alone, only the child itself is killed, not processes it
     * started (a shell's own children survive). With {@link #NEW_PROCESS_GROUP} or {@link #NEW_SESSION} the
     * whole process group it leads is killed, as {@link ProcessDescriptor#killProcessGroup()} does — also what
     * is left of it after the child itself has exited (on kernels before 6.9: only while the child is unreaped).
     */
    SpawnOption KILL_ON_CLOSE = SpawnFlag.KILL_ON_CLOSE;
    /**
     * The child runs in a fresh cgroup v2 of its own, created below this JVM's cgroup and removed once empty:
     * see {@link ControlGroup} and {@link ProcessDescriptor#controlGroup()}. Needs {@link Feature#CGROUP_KILL}
     * (cgroup v2 with cgroup.kill, Linux 5.14, and write access to this JVM's cgroup directory); without it
     * the start fails with UnsupportedOperationException saying why.
     * <p>
     * The child is moved into its cgroup right after posix_spawn returns (glibc before 2.39 cannot spawn into a
     * cgroup), so a process it forks before that move stays in this JVM's cgroup: the move follows the spawn
     * within microseconds, but a program that forks at once (a shell running {@code cmd &} first) may win.
     * Everything started after the move, however it detaches (setsid, double fork), is in the cgroup.
     */
    SpawnOption NEW_CGROUP = SpawnFlag.NEW_CGROUP;

    /**
     * The child gets our descriptor {@code parentFd} as its descriptor {@code childFd} (Go's ExtraFiles, Python's
     * pass_fds), e.g. a listening socket as 3 for a worker a supervisor restarts without dropping connections.
     * The child's copy shares the open file description (offset, flags, socket state) and is not close-on-exec;
     * everything else above 2 stays closed in the child. Numbers may collide freely (ours 7 as its 3 and ours 3
     * as its 7 both work): each source is first copied to a fresh number, then onto its target. Our
     * descriptor stays ours: keep it open until {@code start} returns, close it when you wish.
     * <p>
     * systemd socket activation: set {@code LISTEN_FDS} (and {@code LISTEN_FDNAMES}) in the builder's environment
     * yourself. {@code LISTEN_PID} must be the child's own pid, which is unknown until posix_spawn has started
     * it, so fdkit cannot set it; a program that checks it (sd_listen_fds does) can be started through
     * {@code sh -c 'LISTEN_PID=$$ exec "$0" "$@"' program args...}: the shell's pid is the program's after exec.
     *
     * @param parentFd an open descriptor of this process; checked when the child is started
     * @param childFd  the number the child sees it as: 3 or more (0-2 are the builder's redirects), below the
     *                 child's RLIMIT_NOFILE (else the start fails with EBADF)
     * @return the option
     * @throws IllegalArgumentException if {@code parentFd} is negative or {@code childFd} is below 3
     */
    static SpawnOption passDescriptor(int parentFd, int childFd) {
        if (parentFd < 0) throw new IllegalArgumentException("parentFd must be >= 0, was " + parentFd);
        if (childFd < 3) {
            throw new IllegalArgumentException("childFd must be >= 3 (0-2 are the ProcessBuilder's stdin, stdout and stderr), was " + childFd);
        }
        return new PassedDescriptor(parentFd, childFd);
    }
}
