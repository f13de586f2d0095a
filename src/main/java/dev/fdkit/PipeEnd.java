package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * What {@link PipeReader} and {@link PipeWriter} share: our non-blocking end of a child's pipe, its readiness
 * wait on the shared poller, and one syscall on it at a time under a use of the descriptor.
 */
final class PipeEnd {
    /** One syscall on the descriptor's number and a buffer; non-capturing, so a read or write allocates nothing. */
    interface Call {
        long on(int number, MemorySegment buffer, long length) throws SyscallException;
    }

    final Fd fd;
    final String name;
    final ReadinessWait ready;

    PipeEnd(int fd, String name) {
        this.fd = new Fd(fd, name);
        this.name = name;
        this.ready = new ReadinessWait(this.fd, name);
    }

    /** {@code call} under a use of the descriptor, so that a concurrent close cannot hand its number to another file. */
    long call(Call call, MemorySegment buffer, long length) throws IOException {
        int number = fd.tryAcquire();
        if (number < 0) throw closed();
        try {
            return call.on(number, buffer, length);
        } catch (SyscallException e) {
            throw ErrnoException.of(e);
        } finally {
            fd.release();
        }
    }

    IOException closed() {
        return new IOException(name + " closed");
    }

    /** Wakes a blocked read or write and closes the wait's duplicate (which would keep the pipe open), then the pipe. */
    void close() {
        ready.close();
        fd.close();
    }

    @Override
    public String toString() {
        return name + "(fd=" + fd.number() + (fd.isClosed() ? ", closed)" : ")");
    }
}
