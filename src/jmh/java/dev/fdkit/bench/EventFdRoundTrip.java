package dev.fdkit.bench;

import dev.fdkit.EventFd;
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

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Row "syscall round trip (eventfd)": one write(2) of 1 and one read(2) of the counter on a non-blocking
 * eventfd. The C baseline is src/jmh/c/eventfd_roundtrip.c (the same pair in a loop, with one idle
 * extra thread: the JVM is always multithreaded).
 * <ul>
 *   <li>{@link #fdkit}: {@code EventFd.trySignal(1)} + {@code tryReadValue()}, the public API;</li>
 *   <li>{@link #rawFfm}: the two libc calls through plain {@code Linker.nativeLinker()} downcall handles,
 *       no errno capture, a preallocated 8-byte segment — the floor for any FFM binding;</li>
 *   <li>{@link #rawFfmCritical}: the same linked {@code Linker.Option.critical(false)}, as fdkit links
 *       non-blocking calls (informational: shows what the critical transition saves);</li>
 *   <li>{@link #rawFfmCriticalErrno}: critical plus {@code captureCallState("errno")} into a preallocated
 *       segment, exactly how fdkit links them on JDK 24+ (informational: fdkit minus this is the cost of
 *       fdkit's Java code around the call). Fails on JDK 22/23, which cannot combine the two options.</li>
 * </ul>
 * The annotations are the full run's settings (about 35 s per method); {@code bin/bench --quick} overrides them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(2) // forks inherit bin/bench's --enable-native-access=ALL-UNNAMED
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class EventFdRoundTrip {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final FunctionDescriptor READ_WRITE = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle EVENTFD = LINKER.downcallHandle(
            LINKER.defaultLookup().find("eventfd").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(
            LINKER.defaultLookup().find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle WRITE = LINKER.downcallHandle(LINKER.defaultLookup().find("write").orElseThrow(), READ_WRITE);
    private static final MethodHandle READ = LINKER.downcallHandle(LINKER.defaultLookup().find("read").orElseThrow(), READ_WRITE);
    private static final MethodHandle WRITE_CRITICAL = LINKER.downcallHandle(
            LINKER.defaultLookup().find("write").orElseThrow(), READ_WRITE, Linker.Option.critical(false));
    private static final MethodHandle READ_CRITICAL = LINKER.downcallHandle(
            LINKER.defaultLookup().find("read").orElseThrow(), READ_WRITE, Linker.Option.critical(false));
    private static final MethodHandle WRITE_CRITICAL_ERRNO = linkCriticalWithErrno("write");
    private static final MethodHandle READ_CRITICAL_ERRNO = linkCriticalWithErrno("read");
    // <sys/eventfd.h> values, fixed by the kernel ABI (EFD_CLOEXEC = O_CLOEXEC, EFD_NONBLOCK = O_NONBLOCK on x86_64 and aarch64)
    private static final int EFD_CLOEXEC = 0x80000;
    private static final int EFD_NONBLOCK = 0x800;

    private EventFd eventFd;
    private Arena arena;
    private MemorySegment word;
    private MemorySegment callState;
    private int rawFd = -1;

    @Setup(Level.Trial)
    public void open() throws Throwable {
        eventFd = EventFd.open();
        arena = Arena.ofConfined();
        word = arena.allocate(JAVA_LONG);
        callState = arena.allocate(Linker.Option.captureStateLayout());
        rawFd = (int) EVENTFD.invokeExact(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (rawFd < 0) throw new IllegalStateException("eventfd failed");
        // Fail fast (not in the measured loop) if any variant does not do what it claims.
        if (fdkit() != 1 || rawFfm() != 1 || rawFfmCritical() != 1) throw new IllegalStateException("round trip did not read back 1");
    }

    @TearDown(Level.Trial)
    public void close() throws Throwable {
        eventFd.close();
        if (rawFd >= 0) {
            int ignored = (int) CLOSE.invokeExact(rawFd);
        }
        arena.close();
    }

    @Benchmark
    public long fdkit() {
        eventFd.trySignal(1);
        return eventFd.tryReadValue();
    }

    @Benchmark
    public long rawFfm() throws Throwable {
        word.set(JAVA_LONG, 0, 1L);
        long w = (long) WRITE.invokeExact(rawFd, word, 8L);
        long r = (long) READ.invokeExact(rawFd, word, 8L);
        return w + r == 16 ? word.get(JAVA_LONG, 0) : -1;
    }

    @Benchmark
    public long rawFfmCritical() throws Throwable {
        word.set(JAVA_LONG, 0, 1L);
        long w = (long) WRITE_CRITICAL.invokeExact(rawFd, word, 8L);
        long r = (long) READ_CRITICAL.invokeExact(rawFd, word, 8L);
        return w + r == 16 ? word.get(JAVA_LONG, 0) : -1;
    }

    @Benchmark
    public long rawFfmCriticalErrno() throws Throwable {
        if (WRITE_CRITICAL_ERRNO == null) throw new UnsupportedOperationException("critical + captureCallState needs JDK 24+");
        word.set(JAVA_LONG, 0, 1L);
        long w = (long) WRITE_CRITICAL_ERRNO.invokeExact(callState, rawFd, word, 8L);
        long r = (long) READ_CRITICAL_ERRNO.invokeExact(callState, rawFd, word, 8L);
        return w + r == 16 ? word.get(JAVA_LONG, 0) : -1;
    }

    /** null where the JDK cannot combine the two options (22, 23). */
    private static MethodHandle linkCriticalWithErrno(String name) {
        try {
            return LINKER.downcallHandle(LINKER.defaultLookup().find(name).orElseThrow(), READ_WRITE,
                    Linker.Option.critical(false), Linker.Option.captureCallState("errno"));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
