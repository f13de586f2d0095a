package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.File;
import java.io.IOException;

/**
 * The descriptors of one spawn: what the child gets on 0-2 (pipe ends, redirect files, pipeline ends), and our
 * ends of its pipes until {@link #pipes()} hands them over. What is still held here is closed by
 * {@link #closeChildEnds()} after the spawn and {@link #closeAll()} after a failure.
 */
final class Stdio {
    private static final int NONE = -1;

    final int[] childFd = {NONE, NONE, NONE}; // for 0, 1, 2: the descriptor the child gets, or NONE to inherit ours
    private final int[] childEndsToClose = {NONE, NONE, NONE};
    private final int[] ourPipeEnd = {NONE, NONE, NONE};

    /** Gives the child {@code fd} (a pipeline end, now owned here) as descriptor {@code target}. */
    void pipelineEnd(int target, int fd) {
        childEndsToClose[target] = fd;
        childFd[target] = fd;
    }

    boolean isSet(int target) {
        return childFd[target] != NONE;
    }

    /** Applies a ProcessBuilder redirect to descriptor {@code target}. */
    void redirect(int target, ProcessBuilder.Redirect redirect) throws IOException, SyscallException {
        switch (redirect.type()) {
            case INHERIT -> { }
            case PIPE -> {
                long ends = Syscalls.pipe2(Uapi.O_CLOEXEC);
                int readEnd = (int) ends;
                int writeEnd = (int) (ends >>> 32);
                int ours = target == 0 ? writeEnd : readEnd;
                int theirs = target == 0 ? readEnd : writeEnd;
                ourPipeEnd[target] = ours;
                childEndsToClose[target] = theirs;
                childFd[target] = theirs;
                // Only our end is non-blocking: the child must see an ordinary blocking pipe.
                Syscalls.fcntl(ours, Uapi.F_SETFL, Syscalls.fcntl(ours, Uapi.F_GETFL, 0) | Uapi.O_NONBLOCK);
            }
            case READ -> openFile(target, redirect.file(), Uapi.O_RDONLY);
            case WRITE -> openFile(target, redirect.file(), Uapi.O_WRONLY | Uapi.O_CREAT | Uapi.O_TRUNC);
            case APPEND -> openFile(target, redirect.file(), Uapi.O_WRONLY | Uapi.O_CREAT | Uapi.O_APPEND);
        }
    }

    /** redirectErrorStream: stderr goes where stdout goes. */
    void errorToOutput() {
        childFd[2] = isSet(1) ? childFd[1] : 1;
    }

    private void openFile(int target, File file, int flags) throws IOException, SyscallException {
        String path = file.getPath();
        ProcessStarter.checkNoNul(path, "redirect file");
        int fd = Syscalls.open(path, flags, 0666);
        childEndsToClose[target] = fd;
        childFd[target] = fd;
    }

    /** Our pipe ends as streams, owned by them from now on. */
    ChildPipes pipes() {
        if (ourPipeEnd[0] == NONE && ourPipeEnd[1] == NONE && ourPipeEnd[2] == NONE) return ChildPipes.NONE;
        ChildPipes pipes = new ChildPipes(
                ourPipeEnd[0] != NONE ? new PipeWriter(ourPipeEnd[0], "stdin") : ChildPipes.NOT_A_PIPE_OUT,
                ourPipeEnd[1] != NONE ? new PipeReader(ourPipeEnd[1], "stdout") : ChildPipes.NOT_A_PIPE_IN,
                ourPipeEnd[2] != NONE ? new PipeReader(ourPipeEnd[2], "stderr") : ChildPipes.NOT_A_PIPE_IN);
        java.util.Arrays.fill(ourPipeEnd, NONE);
        return pipes;
    }

    void closeChildEnds() {
        for (int i = 0; i < 3; i++) {
            Syscalls.closeQuietly(childEndsToClose[i]);
            childEndsToClose[i] = NONE;
        }
    }

    void closeAll() {
        closeChildEnds();
        for (int i = 0; i < 3; i++) {
            Syscalls.closeQuietly(ourPipeEnd[i]);
            ourPipeEnd[i] = NONE;
        }
    }

}
