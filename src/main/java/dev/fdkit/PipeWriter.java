package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/** Our end of a child's stdin pipe, non-blocking: a full pipe waits through the shared poller. */
final class PipeWriter extends OutputStream implements Descriptors.Owned {
    private static final int CHUNK = 16 * 1024;

    private final Fd fd;
    private final String name;
    private final ReentrantLock writeLock = new ReentrantLock();
    private MemorySegment buffer; // guarded by writeLock
    private final ReadinessWait writable;

    PipeWriter(int fd, String name) {
        this.fd = new Fd(fd, name);
        this.name = name;
        this.writable = new ReadinessWait(this.fd, name);
    }

    @Override
    public int fd() {
        return Descriptors.number(fd);
    }

    Fd descriptor() {
        return fd;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] bytes, int offset, int length) throws IOException {
        Objects.checkFromIndexSize(offset, length, bytes.length);
        writeLock.lock();
        try {
            if (buffer == null) buffer = Arena.ofAuto().allocate(CHUNK);
            while (length > 0) {
                int chunk = Math.min(length, CHUNK);
                MemorySegment.copy(bytes, offset, buffer, JAVA_BYTE, 0, chunk);
                long n = writeChunk(chunk);
                if (n < 0) {
                    writable.await(Poller.WRITABLE);
                    continue;
                }
                offset += (int) n;
                length -= (int) n;
            }
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void close() {
        writable.close(); // wakes a blocked write and closes the wait's duplicate, which would keep the pipe open
        fd.close();
    }

    private long writeChunk(int length) throws IOException {
        int number = fd.tryAcquire();
        if (number < 0) throw new IOException(name + " closed");
        try {
            return Syscalls.write(number, buffer, length);
        } catch (SyscallException e) {
            throw ErrnoException.of(e);
        } finally {
            fd.release();
        }
    }

    @Override
    public String toString() {
        return name + "(fd=" + fd.number() + (fd.isClosed() ? ", closed)" : ")");
    }
}
