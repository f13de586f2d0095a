package dev.fdkit;

/**
 * What closing a ProcessDescriptor does, by close() or by the Cleaner for a dropped one: the exit watch's
 * close transition, SIGKILL for KILL_ON_CLOSE, the pidfd, our pipe ends. It holds no reference to the
 * descriptor (a Cleaner action must not), and runs once.
 */
final class ProcessClose implements Runnable {
    private final ExitWatch watch;
    private final ChildPipes pipes;
    private final Signaller signals;
    private final boolean killOnClose;

    ProcessClose(ExitWatch watch, ChildPipes pipes, Signaller signals, boolean killOnClose) {
        this.watch = watch;
        this.pipes = pipes;
        this.signals = signals;
        this.killOnClose = killOnClose;
    }

    /** {@code byOwner}: close(), which also ends the watch of a process that is not our child; the Cleaner's does not. */
    void close(boolean byOwner) {
        if (!watch.close(byOwner)) return;
        if (killOnClose) signals.killForClose();
        Pidfd pidfd = watch.pidfd();
        if (pidfd != null) pidfd.fd.close(); // a child's watch holds a use: close(2) waits for the reap
        pipes.close();
    }

    /** The Cleaner's action. */
    @Override
    public void run() {
        close(false);
    }
}
