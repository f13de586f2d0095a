package dev.fdkit.bench;

import dev.fdkit.Completion;
import dev.fdkit.Poller;
import dev.fdkit.Uring;
import dev.fdkit.internal.IoUringPrep;
import dev.fdkit.internal.IoUringRing;
import dev.fdkit.internal.SyscallException;
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

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Row "io_uring NOP round trip": IORING_OP_NOP submitted and its completion reaped, on one thread, in
 * ops/s. The C baseline is src/jmh/c/uring_nop.c (raw io_uring_setup / mmap / io_uring_enter, no liburing).
 * <ul>
 *   <li>{@link #unbatched}: {@code submit(new Nop(cookie))} (one io_uring_enter), then {@code reap()} on
 *       this thread until its future is complete;</li>
 *   <li>{@link #batch32}: 32 {@code submit} calls, then {@code reap()} until all 32 futures are complete.
 *       Each {@code submit} enters the kernel once, so this is 32 io_uring_enter calls per batch (C's
 *       {@code batch32_enter_each} does the same): the per-op API's cost;</li>
 *   <li>{@link #batch32SubmitAll}: the same 32 NOPs through one {@code submitAll} (one io_uring_enter per
 *       batch, as C's {@code batch32}), then {@code reap()} until all 32 futures are complete;</li>
 *   <li>{@link #batch32SubmitAllWith}: the same through {@code submitAllWith(ops, handler)}, the allocation-free
 *       batch, on the unwatched ring: 32 NOP records made once, one io_uring_enter, reaped here.</li>
 * </ul>
 * The future paths use {@code Uring.open(64, Poller.open())}: a poller nobody polls, so completions are reaped
 * only here (the kernel still wakes the ring descriptor's poller for every CQE, as for every watched Uring).
 * {@link #unbatchedHandler} uses {@code Uring.openUnwatched(64)}, as the C loop has no poller either;
 * {@link #unbatchedHandlerWatched} is the same on the watched ring, for the cost of that wake.
 * <p>
 * {@link #unbatchedRingOnly} and {@link #batch32RingOnly} are the Java floor: the same NOPs through fdkit's
 * internal IoUringRing alone (SQE written through a MemorySegment, the same io_uring_enter downcall, CQEs read
 * into a handler), without Uring's checks, slot table, cookie table and locks — the C loop, written in Java.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(2)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Thread)
public class UringNop {
    static final int BATCH = 32;

    private Poller poller;
    private Uring uring;
    private Uring unwatched;
    private IoUringRing raw;
    private long rawCompleted;
    private final IoUringRing.CqeHandler rawHandler = (userData, res, flags) -> rawCompleted++;
    private long cookie;
    @SuppressWarnings("unchecked")
    private final CompletableFuture<Completion>[] futures = new CompletableFuture[BATCH];
    private final Uring.Op[] nops = new Uring.Op[BATCH];
    private final List<Uring.Op> batch = Arrays.asList(nops); // a view: refilled, never copied, per invocation
    private final Uring.Nop nop = new Uring.Nop(-1); // the handler path's op: one record, resubmitted
    private final List<Uring.Op> handledBatch = handledBatch(); // 32 records with their own cookies, resubmitted
    private final Handled handled = new Handled();

    /** Counts completions and keeps the last result: primitives only. */
    static final class Handled implements Uring.CompletionHandler {
        long done;
        int res;

        @Override
        public void onCompletion(long cookie, int res, int flags) {
            this.res = res;
            done++;
        }
    }

    private static List<Uring.Op> handledBatch() {
        Uring.Op[] ops = new Uring.Op[BATCH];
        for (int i = 0; i < BATCH; i++) ops[i] = new Uring.Nop(-2 - i);
        return List.of(ops);
    }

    @Setup(Level.Trial)
    public void open() {
        poller = Poller.open();
        uring = Uring.open(64, poller);
        unwatched = Uring.openUnwatched(64);
        try {
            raw = new IoUringRing(64, 512);
        } catch (SyscallException e) {
            throw new IllegalStateException(e);
        }
        if (unbatched() != 0) throw new IllegalStateException("NOP did not complete with res 0");
        if (batch32SubmitAll() != 0) throw new IllegalStateException("a batched NOP did not complete with res 0");
        if (unbatchedHandler() != 0) throw new IllegalStateException("a handled NOP did not complete with res 0");
        if (batch32SubmitAllWith() != 0) throw new IllegalStateException("a handled batched NOP did not complete with res 0");
        if (unbatchedHandlerWatched() != 0) throw new IllegalStateException("a handled NOP did not complete with res 0");
    }

    @TearDown(Level.Trial)
    public void close() {
        uring.close();
        unwatched.close();
        try {
            raw.close();
        } catch (SyscallException e) {
            throw new IllegalStateException(e);
        }
        poller.close();
    }

    @Benchmark
    public long unbatched() {
        CompletableFuture<Completion> f = uring.submit(new Uring.Nop(cookie++));
        while (!f.isDone()) uring.reap();
        return f.join().res();
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long batch32() {
        for (int i = 0; i < BATCH; i++) futures[i] = uring.submit(new Uring.Nop(cookie++));
        long sum = 0;
        for (int i = 0; i < BATCH; i++) {
            CompletableFuture<Completion> f = futures[i];
            while (!f.isDone()) uring.reap();
            sum += f.join().res();
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long batch32SubmitAll() {
        for (int i = 0; i < BATCH; i++) nops[i] = new Uring.Nop(cookie++);
        List<CompletableFuture<Completion>> done = uring.submitAll(batch);
        long sum = 0;
        for (int i = 0; i < BATCH; i++) {
            CompletableFuture<Completion> f = done.get(i);
            while (!f.isDone()) uring.reap();
            sum += f.join().res();
        }
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public int batch32SubmitAllWith() {
        long target = handled.done + BATCH;
        unwatched.submitAllWith(handledBatch, handled);
        while (handled.done < target) unwatched.reap();
        return handled.res;
    }

    @Benchmark
    public int unbatchedHandler() {
        return handledRoundTrip(unwatched);
    }

    @Benchmark
    public int unbatchedHandlerWatched() {
        return handledRoundTrip(uring);
    }

    @Benchmark
    public long unbatchedRingOnly() {
        long target = rawCompleted + 1;
        IoUringPrep.prepNop(raw.nextSqe());
        raw.submit(0);
        while (rawCompleted < target) raw.reap(rawHandler);
        return rawCompleted;
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public long batch32RingOnly() {
        long target = rawCompleted + BATCH;
        for (int i = 0; i < BATCH; i++) {
            MemorySegment sqe = raw.nextSqe();
            IoUringPrep.prepNop(sqe);
            IoUringPrep.setData64(sqe, i + 1);
        }
        raw.submit(0);
        while (rawCompleted < target) raw.reap(rawHandler);
        return rawCompleted;
    }

    private int handledRoundTrip(Uring ring) {
        long target = handled.done + 1;
        ring.submitWith(nop, handled);
        while (handled.done < target) ring.reap();
        return handled.res;
    }
}
