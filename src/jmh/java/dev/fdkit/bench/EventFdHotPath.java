package dev.fdkit.bench;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * Diagnostics for the eventfd row (no syscalls): the Java-side work fdkit's round trip adds around its two
 * downcalls, measured alone, because a few ns are lost in the noise of a ~600 ns syscall pair.
 * <ul>
 *   <li>{@link #useCount}: two {@code Fd.acquire()}/{@code release()} pairs, the close-safety use count
 *       taken around each syscall (two atomic read-modify-writes each);</li>
 *   <li>{@link #threadLocal}: two {@code ThreadLocal.get()} calls, as fdkit fetches its per-thread errno
 *       and buffer segments once per syscall.</li>
 * </ul>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class EventFdHotPath {
    private static final ThreadLocal<long[]> SCRATCH = ThreadLocal.withInitial(() -> new long[1]);

    private Fd fd;

    /** An eventfd opened as EventFd.open() does, in the Fd that EventFd keeps (the public API hides it). */
    @Setup(Level.Trial)
    public void open() throws SyscallException {
        fd = new Fd(Syscalls.eventfd(0, Uapi.EFD_CLOEXEC | Uapi.EFD_NONBLOCK), "EventFd");
    }

    @TearDown(Level.Trial)
    public void close() {
        fd.close();
    }

    @Benchmark
    public int useCount() {
        int a = fd.acquire();
        fd.release();
        int b = fd.acquire();
        fd.release();
        return a + b;
    }

    @Benchmark
    public long threadLocal() {
        return SCRATCH.get()[0] + SCRATCH.get().length;
    }
}
