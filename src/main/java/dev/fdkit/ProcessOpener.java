package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Errno;
import dev.fdkit.internal.Syscalls;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@link ProcessDescriptor#open}: the exit watch of an existing process, ours or not, through pidfd_open (or,
 * without pidfds, by pid), with an error that says so when the id is a thread's and not a process's.
 */
final class ProcessOpener {
    private ProcessOpener() {}

    static ExitWatch open(long pid) throws ErrnoException {
        if (pid <= 0 || pid > Integer.MAX_VALUE) throw new IllegalArgumentException("pid must be between 1 and " + Integer.MAX_VALUE + ", was " + pid);
        Pidfd pidfd = null; // without pidfds: watched by pid
        if (Linux.has(Feature.PIDFD_OPEN)) {
            try {
                pidfd = new Pidfd(Syscalls.pidfdOpen((int) pid, 0));
            } catch (SyscallException e) {
                int process = processOfThread((int) pid);
                if (process < 0) throw ErrnoException.of(e);
                throw new ErrnoException("pidfd_open", threadNotProcess(pid, process), e.errno());
            }
        } else {
            int process = processOfThread((int) pid); // kill(2) accepts a thread id: it signals the thread's process
            if (process >= 0) throw new ErrnoException("kill", threadNotProcess(pid, process) + ", sig=0", Errno.ESRCH);
            if (!exists((int) pid)) throw new ErrnoException("kill", "pid=" + pid + ", sig=0", Errno.ESRCH);
        }
        return ExitWatch.ofOther((int) pid, pidfd);
    }

    private static String threadNotProcess(long tid, int process) {
        return "pid=" + tid + ", which is a thread of process " + process + ", not a process: open(" + process + ") for the process";
    }

    /**
     * The process (thread group) that {@code tid} is a thread of, if it is not that process's main thread;
     * -1 for a process, or an id not found in /proc (ids of threads are there too, only not listed).
     */
    private static int processOfThread(int tid) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/" + tid + "/status"))) {
                if (line.startsWith("Tgid:")) {
                    int tgid = Integer.parseInt(line.substring(5).trim());
                    return tgid != tid ? tgid : -1;
                }
            }
        } catch (IOException | RuntimeException gone) {
            // no such thread (any more), or /proc not mounted: nothing to add to the original error
        }
        return -1;
    }

    /** kill(pid, 0): EPERM means it exists but is not ours to signal. */
    private static boolean exists(int pid) throws ErrnoException {
        try {
            return Syscalls.kill(pid, 0);
        } catch (SyscallException e) {
            if (e.errno() == Errno.EPERM) return true;
            throw ErrnoException.of(e);
        }
    }
}
