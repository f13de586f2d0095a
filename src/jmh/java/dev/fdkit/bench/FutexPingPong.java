package dev.fdkit.bench;

import dev.fdkit.EventFd;
import dev.fdkit.Futex;
import dev.fdkit.internal.linux.fdkit_h;
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
import java.lang.invoke.VarHandle;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Row "futex ping-pong": one round trip between the benchmark thread and a partner platform thread started
 * in {@code @Setup} (and stopped and joined in {@code @TearDown}). Each op passes the turn to the partner
 * and waits until it is passed back. The C baseline is src/jmh/c/futex_pingpong.c (two pthreads, the same
 * protocol through raw syscall(SYS_futex), FUTEX_PRIVATE).
 * <ul>
 *   <li>{@link #fdkit}: one {@link Futex#privateWord} alternating between 1 (partner's turn) and 0 (ours):
 *       {@code set(1); wake(1); while (get() == 1) await(1);} — the partner does the mirror image;</li>
 *   <li>{@link #rawFfm}: the same with syscall(SYS_futex, ...) through a plain downcall handle, no errno
 *       capture: the floor for any FFM futex (fdkit minus this is the cost of fdkit's Java code);</li>
 *   <li>{@link #lockSupport}: a volatile turn field with {@code LockSupport.park/unpark};</li>
 *   <li>{@link #eventFd}: two fdkit {@link EventFd}s, {@code signal(1)} and blocking {@code read()} (which
 *       waits through the shared Poller's thread: a third thread in every hop);</li>
 *   <li>{@link #eventFdRawFfm}: two blocking eventfds (no EFD_NONBLOCK), write(2)/read(2) through plain
 *       downcalls — the eventfd mechanism itself, as the C program's eventfd variant.</li>
 * </ul>
 * All threads are platform threads. The annotations are the full run's settings; {@code bin/bench --quick} overrides them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FutexPingPong {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle SYSCALL_FUTEX = LINKER.downcallHandle(LINKER.defaultLookup().find("syscall").orElseThrow(),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG),
            Linker.Option.firstVariadicArg(1));
    private static final FunctionDescriptor READ_WRITE = FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG);
    private static final MethodHandle WRITE = LINKER.downcallHandle(LINKER.defaultLookup().find("write").orElseThrow(), READ_WRITE);
    private static final MethodHandle READ = LINKER.downcallHandle(LINKER.defaultLookup().find("read").orElseThrow(), READ_WRITE);
    private static final MethodHandle EVENTFD = LINKER.downcallHandle(
            LINKER.defaultLookup().find("eventfd").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(
            LINKER.defaultLookup().find("close").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final long SYS_FUTEX = fdkit_h.SYS_futex();
    private static final long WAIT_PRIVATE = fdkit_h.FUTEX_WAIT() | fdkit_h.FUTEX_PRIVATE_FLAG();
    private static final long WAKE_PRIVATE = fdkit_h.FUTEX_WAKE() | fdkit_h.FUTEX_PRIVATE_FLAG();
    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final int EFD_CLOEXEC = fdkit_h.EFD_CLOEXEC();

    /** A partner thread: started by {@link #start}, stopped by {@link #stop} (which must unblock it). */
    abstract static class Partner {
        volatile boolean stop;
        Thread thread;

        final void start(String name) {
            thread = Thread.ofPlatform().daemon().name(name).start(() -> {
                try {
                    partner();
                } catch (Throwable t) {
                    if (!stop) t.printStackTrace();
                }
            });
        }

        abstract void partner() throws Throwable;

        /** Makes a partner blocked in its wait return. */
        abstract void unblock() throws Throwable;

        final void stop() throws Throwable {
            stop = true;
            unblock();
            thread.join(10_000);
            if (thread.isAlive()) throw new IllegalStateException(thread.getName() + " did not stop");
        }
    }

    // ------------------------------------------------------------------ fdkit Futex

    @State(Scope.Thread)
    public static class FdkitFutex extends Partner {
        Arena arena;
        Futex word;

        @Setup(Level.Trial)
        public void setup() {
            arena = Arena.ofShared();
            word = Futex.privateWord(arena.allocate(64, 64), 0);
            start("futex-partner");
        }

        @Override
        void partner() {
            while (!stop) {
                while (word.get() == 0 && !stop) word.await(0);
                word.set(0);
                word.wake(1);
            }
        }

        @Override
        void unblock() {
            word.set(1);
            word.wake(1);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Throwable {
            stop();
            arena.close();
        }
    }

    @Benchmark
    public int fdkit(FdkitFutex s) {
        Futex word = s.word;
        word.set(1);
        word.wake(1);
        int w;
        while ((w = word.get()) == 1) word.await(1);
        return w;
    }

    // ------------------------------------------------------------------ raw FFM futex

    @State(Scope.Thread)
    public static class RawFutex extends Partner {
        Arena arena;
        MemorySegment word;

        @Setup(Level.Trial)
        public void setup() {
            arena = Arena.ofShared();
            word = arena.allocate(64, 64);
            start("raw-futex-partner");
        }

        @Override
        void partner() throws Throwable {
            while (!stop) {
                while ((int) INT.getVolatile(word, 0L) == 0 && !stop) futex(word, WAIT_PRIVATE, 0);
                INT.setVolatile(word, 0L, 0);
                futex(word, WAKE_PRIVATE, 1);
            }
        }

        @Override
        void unblock() throws Throwable {
            INT.setVolatile(word, 0L, 1);
            futex(word, WAKE_PRIVATE, 1);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Throwable {
            stop();
            arena.close();
        }
    }

    private static long futex(MemorySegment word, long op, long value) throws Throwable {
        return (long) SYSCALL_FUTEX.invokeExact(SYS_FUTEX, word, op, value, MemorySegment.NULL, MemorySegment.NULL, 0L);
    }

    @Benchmark
    public int rawFfm(RawFutex s) throws Throwable {
        MemorySegment word = s.word;
        INT.setVolatile(word, 0L, 1);
        futex(word, WAKE_PRIVATE, 1);
        int w;
        while ((w = (int) INT.getVolatile(word, 0L)) == 1) futex(word, WAIT_PRIVATE, 1);
        return w;
    }

    // ------------------------------------------------------------------ LockSupport

    @State(Scope.Thread)
    public static class Parking extends Partner {
        volatile int turn;
        Thread benchmarkThread;

        @Setup(Level.Trial)
        public void setup() {
            benchmarkThread = Thread.currentThread(); // Scope.Thread: set up on the thread that runs the benchmark
            start("park-partner");
        }

        @Override
        void partner() {
            while (!stop) {
                while (turn == 0 && !stop) LockSupport.park(this);
                turn = 0;
                LockSupport.unpark(benchmarkThread);
            }
        }

        @Override
        void unblock() {
            turn = 1;
            LockSupport.unpark(thread);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Throwable {
            stop();
        }
    }

    @Benchmark
    public int lockSupport(Parking s) {
        s.turn = 1;
        LockSupport.unpark(s.thread);
        int t;
        while ((t = s.turn) == 1) LockSupport.park(s);
        return t;
    }

    // ------------------------------------------------------------------ fdkit EventFd

    @State(Scope.Thread)
    public static class EventFds extends Partner {
        EventFd toPartner, toBenchmark;

        @Setup(Level.Trial)
        public void setup() {
            toPartner = EventFd.open();
            toBenchmark = EventFd.open();
            start("eventfd-partner");
        }

        @Override
        void partner() throws InterruptedException {
            while (!stop) {
                toPartner.read();
                toBenchmark.signal(1);
            }
        }

        @Override
        void unblock() {
            toPartner.trySignal(1);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Throwable {
            stop();
            toPartner.close();
            toBenchmark.close();
        }
    }

    @Benchmark
    public long eventFd(EventFds s) throws InterruptedException {
        s.toPartner.signal(1);
        return s.toBenchmark.read();
    }

    // ------------------------------------------------------------------ raw blocking eventfds

    @State(Scope.Thread)
    public static class RawEventFds extends Partner {
        Arena arena;
        MemorySegment benchmarkWord, partnerWord;
        int toPartner = -1, toBenchmark = -1;

        @Setup(Level.Trial)
        public void setup() throws Throwable {
            arena = Arena.ofShared();
            benchmarkWord = arena.allocate(JAVA_LONG);
            partnerWord = arena.allocate(JAVA_LONG);
            toPartner = (int) EVENTFD.invokeExact(0, EFD_CLOEXEC);
            toBenchmark = (int) EVENTFD.invokeExact(0, EFD_CLOEXEC);
            if (toPartner < 0 || toBenchmark < 0) throw new IllegalStateException("eventfd failed");
            start("raw-eventfd-partner");
        }

        @Override
        void partner() throws Throwable {
            while (!stop) {
                if ((long) READ.invokeExact(toPartner, partnerWord, 8L) != 8) throw new IllegalStateException("read failed");
                partnerWord.set(JAVA_LONG, 0, 1L);
                if ((long) WRITE.invokeExact(toBenchmark, partnerWord, 8L) != 8) throw new IllegalStateException("write failed");
            }
        }

        @Override
        void unblock() throws Throwable {
            benchmarkWord.set(JAVA_LONG, 0, 1L);
            long ignored = (long) WRITE.invokeExact(toPartner, benchmarkWord, 8L);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Throwable {
            stop();
            int a = (int) CLOSE.invokeExact(toPartner);
            int b = (int) CLOSE.invokeExact(toBenchmark);
            arena.close();
        }
    }

    @Benchmark
    public long eventFdRawFfm(RawEventFds s) throws Throwable {
        MemorySegment word = s.benchmarkWord;
        word.set(JAVA_LONG, 0, 1L);
        long w = (long) WRITE.invokeExact(s.toPartner, word, 8L);
        long r = (long) READ.invokeExact(s.toBenchmark, word, 8L);
        return w + r;
    }
}
