package dev.fdkit;

import dev.fdkit.internal.Errno;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Signals a process and its descendants, found through /proc/PID/task/TID/children, each through a pidfd.
 * <p>
 * Stop, then collect, then signal (as robust tree killers do): each process found is sent SIGSTOP, and its
 * children are listed once it has really stopped. A fork already in the kernel when SIGSTOP arrives still
 * completes and links its child, so listing right after the send could miss it (measured: a fork loop
 * outran the walk); a stopped process forks no more. The signal then goes deepest first: a parent that died
 * before its stopped children would leave them an orphaned process group, which the kernel sends SIGHUP.
 * <p>
 * Pid reuse: a listed pid may have exited and been reused by the time it is opened. Its pidfd is kept only
 * if, after pidfd_open, /proc says its parent is the process being walked while that one still runs (so
 * its pid was not reused either); a stopped parent forks no new child to reuse the pid.
 * <p>
 * What no walk can find: a descendant whose parent exited before the walk is re-parented to init (or a
 * subreaper) and is no descendant any more. Process groups ({@link SpawnOption#NEW_PROCESS_GROUP}) or a
 * cgroup catch those, as long as they did not leave the group or the cgroup.
 */
final class ProcessTree {
    private ProcessTree() {}

    private static final int SELF = (int) ProcessHandle.current().pid();

    /**
     * Stops the tree of {@code rootPid} (held by {@code rootPidfd}, which stays the caller's), sends
     * {@code signal} to each process in it, then resumes them with SIGCONT, except after SIGKILL and SIGSTOP.
     *
     * @return how many live processes were sent {@code signal}
     */
    static int signal(int rootPid, int rootPidfd, int signal) throws SyscallException {
        if (rootPid == SELF) throw new IllegalStateException("pid " + rootPid + " is this JVM: its tree cannot be signalled from inside it");
        List<int[]> tree = new ArrayList<>(); // {pid, pidfd}; the root's pidfd is the caller's
        tree.add(new int[] {rootPid, rootPidfd});
        boolean signalled = false;
        try {
            for (int i = 0; i < tree.size(); i++) {
                int pid = tree.get(i)[0];
                int pidfd = tree.get(i)[1];
                if (exited(pidfd) || !Syscalls.pidfdSendSignal(pidfd, Uapi.SIGSTOP, 0)) continue; // its children went to a reaper
                // A fork in progress when SIGSTOP arrives still completes, and links its child after a listing made now:
                // list only once the process has really stopped (then it forks no more).
                if (!awaitStopped(pid, pidfd)) continue;
                for (int child : childrenOf(pid)) {
                    if (child == SELF) throw new IllegalStateException("the tree of pid " + rootPid + " contains this JVM");
                    int childPidfd = openPidfd(child);
                    if (childPidfd < 0) continue;
                    if (parentOf(child) == pid && !exited(pidfd)) tree.add(new int[] {child, childPidfd});
                    else Syscalls.close(childPidfd);
                }
            }
            // Deepest first: a parent that dies before its stopped children leaves them an orphaned process group,
            // which the kernel sends SIGHUP and SIGCONT, so they would end by SIGHUP instead of this signal.
            int count = 0;
            for (int i = tree.size() - 1; i >= 0; i--) {
                int[] process = tree.get(i);
                if (!exited(process[1]) && Syscalls.pidfdSendSignal(process[1], signal, 0)) count++;
            }
            signalled = true;
            return count;
        } finally {
            // SIGCONT after the signal, so that it is pending when each process runs again. Not after SIGKILL (no
            // need) nor SIGSTOP (it would undo it); it discards a pending SIGTSTP, SIGTTIN or SIGTTOU, though.
            boolean resume = !signalled || (signal != Uapi.SIGKILL && signal != Uapi.SIGSTOP);
            // Deepest first too: a child resumed after its parent could find that parent gone and its group orphaned.
            for (int i = tree.size() - 1; i >= 0; i--) release(tree.get(i)[1], resume, i > 0);
        }
    }

    private static void release(int pidfd, boolean resume, boolean close) {
        try {
            if (resume) Syscalls.pidfdSendSignal(pidfd, Uapi.SIGCONT, 0);
        } catch (SyscallException ignored) {
            // only after a failed walk or signal: that failure is what matters
        }
        try {
            if (close) Syscalls.close(pidfd);
        } catch (SyscallException ignored) {
            // as above
        }
    }

    private static boolean exited(int pidfd) throws SyscallException {
        return (Syscalls.poll(pidfd, Uapi.POLLIN, 0) & Uapi.POLLIN) != 0;
    }

    /** Waits (about a second at most) until {@code pid} is stopped; false if it exited meanwhile. */
    private static boolean awaitStopped(int pid, int pidfd) throws SyscallException {
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (exited(pidfd)) return false;
            char state = stateOf(pid);
            if (state == 'T' || state == 't' || state == 'X' || state == 'Z' || state == '?') return state == 'T' || state == 't';
            Thread.yield();
        }
        return true; // not stopped in a second (stuck in the kernel): list it all the same
    }

    /** Its state letter (R, S, T...), or '?' once the process is gone. */
    private static char stateOf(int pid) {
        String state = ProcStat.field(pid, 3);
        return state == null ? '?' : state.charAt(0);
    }

    /** A pidfd on {@code pid}, or -1 if it has exited already. */
    private static int openPidfd(int pid) throws SyscallException {
        try {
            return Syscalls.pidfdOpen(pid, 0);
        } catch (SyscallException e) {
            if (e.errno() == Errno.ESRCH) return -1;
            throw e;
        }
    }

    /** The children of every thread of {@code pid}; none once it is gone. */
    static List<Integer> childrenOf(int pid) {
        List<Integer> children = new ArrayList<>();
        try (DirectoryStream<Path> tasks = Files.newDirectoryStream(Path.of("/proc/" + pid + "/task"))) {
            for (Path task : tasks) {
                String list;
                try {
                    list = Files.readString(task.resolve("children"));
                } catch (NoSuchFileException e) {
                    if (Files.isDirectory(task)) throw new UnsupportedOperationException(
                            "no " + task.resolve("children") + ": the kernel lacks CONFIG_PROC_CHILDREN, so descendants cannot be listed");
                    continue; // the thread has exited
                } catch (IOException e) {
                    continue; // ESRCH: the thread exited while we read
                }
                for (String child : list.trim().split(" ")) {
                    if (!child.isEmpty()) children.add(Integer.parseInt(child));
                }
            }
        } catch (IOException | DirectoryIteratorException e) {
            return children; // the process exited (killed by someone else while stopped): its children went to a reaper
        }
        return children;
    }

    /** Its parent's pid, or -1 once the process is gone. */
    private static int parentOf(int pid) {
        String parent = ProcStat.field(pid, 4);
        return parent == null ? -1 : Integer.parseInt(parent);
    }
}
