package dev.fdkit.bench;

import dev.fdkit.Completion;
import dev.fdkit.EventFd;
import dev.fdkit.Futex;
import dev.fdkit.Poller;
import dev.fdkit.Uring;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Row "Uring vs epoll batches": one invocation handles a batch of {@link #N} = 64 events on one thread; the
 * score is ns per event (JMH {@code @OperationsPerInvocation(64)}).
 * <ul>
 *   <li>{@link #uringEventFdReads}: 64 {@code Uring.Read} ops (one per EventFd, 8-byte preallocated buffers)
 *       submitted, all 64 EventFds signalled, then completions reaped on this thread ({@code reap()}, and
 *       {@code Poller.poll} of the ring's eventfd when nothing is there yet) until all 64 futures are done;</li>
 *   <li>{@link #epollEventFdReads}: the same 64 EventFds level-registered on a {@link Poller}; signal all 64,
 *       then {@code poll} until 64 handlers have run, each {@code tryReadValue()} — the epoll path;</li>
 *   <li>{@link #uringFutexWakes}: 64 {@code Uring.FutexWake} ops (64 futex words) submitted, then reaped;</li>
 *   <li>{@link #directFutexWakes}: 64 {@code Futex.wake(1)} calls (futex(2) directly);</li>
 *   <li>{@link #uringEventFdReadsSubmitAll}, {@link #uringFutexWakesSubmitAll}: the two Uring variants with
 *       the 64 ops handed to one {@code submitAll} — what a user with a batch would write.</li>
 * </ul>
 * The futex wakes find no waiter (the cost of the wake path itself, not of waking threads).
 * {@code Uring.submit} enters the kernel once per op, so the per-op Uring variants make 64 io_uring_enter
 * calls per batch; the {@code submitAll} variants make one. Process-exit batches: {@link UringProcessExits}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Thread)
public class UringVsEpoll {
    static final int N = 64;
    private static final Duration WAIT = Duration.ofSeconds(1);

    private Arena arena;
    private EventFd[] eventFds;
    private MemorySegment[] buffers;
    private Futex[] futexes;
    private Poller uringPoller;
    private Uring uring;
    private Poller epoll;
    private long cookie;
    private int handled;
    @SuppressWarnings("unchecked")
    private final CompletableFuture<Completion>[] futures = new CompletableFuture[N];
    private final List<CompletableFuture<Completion>> futureList = Arrays.asList(futures); // a view of futures
    private final Uring.Op[] ops = new Uring.Op[N];
    private final List<Uring.Op> batch = Arrays.asList(ops); // a view: refilled, never copied, per invocation

    @Setup(Level.Trial)
    public void open() {
        arena = Arena.ofShared();
        eventFds = new EventFd[N];
        buffers = new MemorySegment[N];
        futexes = new Futex[N];
        MemorySegment words = arena.allocate(4L * N, 64);
        for (int i = 0; i < N; i++) {
            eventFds[i] = EventFd.open();
            buffers[i] = arena.allocate(JAVA_LONG);
            futexes[i] = Futex.privateWord(words, 4L * i);
        }
        uringPoller = Poller.open();
        uring = Uring.open(N, uringPoller);
        epoll = Poller.open();
        for (EventFd e : eventFds) {
            epoll.register(e, Poller.READABLE, Poller.Trigger.LEVEL, (r, events) -> {
                e.tryReadValue();
                handled++;
            });
        }
        // Fail fast if a variant does not do what it claims.
        uringEventFdReads();
        for (MemorySegment b : buffers) if (b.get(JAVA_LONG, 0) != 1) throw new IllegalStateException("Uring read did not read 1");
        for (MemorySegment b : buffers) b.set(JAVA_LONG, 0, 0);
        uringEventFdReadsSubmitAll();
        for (MemorySegment b : buffers) if (b.get(JAVA_LONG, 0) != 1) throw new IllegalStateException("batched Uring read did not read 1");
        epollEventFdReads();
        uringFutexWakes();
        uringFutexWakesSubmitAll();
        directFutexWakes();
    }

    @TearDown(Level.Trial)
    public void close() {
        uring.close();
        uringPoller.close();
        epoll.close();
        for (EventFd e : eventFds) e.close();
        arena.close();
    }

    private long awaitAll(List<CompletableFuture<Completion>> pending) {
        long sum = 0;
        for (int i = 0; i < N; i++) {
            CompletableFuture<Completion> f = pending.get(i);
            while (!f.isDone()) {
                if (uring.reap() == 0) uringPoller.poll(WAIT);
            }
            sum += f.join().res();
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long uringEventFdReads() {
        for (int i = 0; i < N; i++) futures[i] = uring.submit(new Uring.Read(eventFds[i], buffers[i], cookie++));
        for (EventFd e : eventFds) e.trySignal(1);
        long sum = awaitAll(futureList);
        if (sum != 8L * N) throw new IllegalStateException("a Uring read failed: " + sum);
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long uringEventFdReadsSubmitAll() {
        for (int i = 0; i < N; i++) ops[i] = new Uring.Read(eventFds[i], buffers[i], cookie++);
        List<CompletableFuture<Completion>> reads = uring.submitAll(batch);
        for (EventFd e : eventFds) e.trySignal(1);
        long sum = awaitAll(reads);
        if (sum != 8L * N) throw new IllegalStateException("a Uring read failed: " + sum);
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public int epollEventFdReads() {
        for (EventFd e : eventFds) e.trySignal(1);
        handled = 0;
        while (handled < N) epoll.poll(WAIT);
        return handled;
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long uringFutexWakes() {
        for (int i = 0; i < N; i++) futures[i] = uring.submit(new Uring.FutexWake(futexes[i], 1, cookie++));
        return awaitAll(futureList);
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public long uringFutexWakesSubmitAll() {
        for (int i = 0; i < N; i++) ops[i] = new Uring.FutexWake(futexes[i], 1, cookie++);
        return awaitAll(uring.submitAll(batch));
    }

    @Benchmark
    @OperationsPerInvocation(N)
    public int directFutexWakes() {
        int woken = 0;
        for (Futex f : futexes) woken += f.wake(1);
        return woken;
    }
}
