package dev.fdkit;

import dev.fdkit.internal.Fd;
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

    private final PipeEnd end;
    private final ReentrantLock writeLock = new ReentrantLock();
    private MemorySegment buffer; // guarded by writeLock

    PipeWriter(int fd, String name) {
        this.end = new PipeEnd(fd, name);
    }

    @Override
    public int fd() {
        return Descriptors.number(end.fd);
    }

    Fd descriptor() {
        return end.fd;
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
                    end.ready.await(Poller.WRITABLE);
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
        end.close();
    }

    private long writeChunk(int length) throws IOException {
        return end.call(Syscalls::write, buffer, length);
    }

    @Override
    public String toString() {
        return end.toString();
    }
}
