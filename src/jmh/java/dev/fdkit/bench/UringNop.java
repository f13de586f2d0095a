package dev.fdkit.bench;

import dev.fdkit.Completion;
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
 *       batch, as C's {@code batch32}), then {@code reap()} until all 32 futures are complete.</li>
 * </ul>
 * The ring is {@code Uring.open(64, Poller.open())}: a poller nobody polls, so completions are reaped only
 * here (the kernel still wakes the ring descriptor's pollers for every CQE, as for every fdkit Uring).
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
    private long cookie;
    @SuppressWarnings("unchecked")
    private final CompletableFuture<Completion>[] futures = new CompletableFuture[BATCH];
    private final Uring.Op[] nops = new Uring.Op[BATCH];
    private final List<Uring.Op> batch = Arrays.asList(nops); // a view: refilled, never copied, per invocation
    private final Uring.Nop nop = new Uring.Nop(-1); // the handler path's op: one record, resubmitted
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

    @Setup(Level.Trial)
    public void open() {
        poller = Poller.open();
        uring = Uring.open(64, poller);
        if (unbatched() != 0) throw new IllegalStateException("NOP did not complete with res 0");
        if (batch32SubmitAll() != 0) throw new IllegalStateException("a batched NOP did not complete with res 0");
        if (unbatchedHandler() != 0) throw new IllegalStateException("a handled NOP did not complete with res 0");
    }

    @TearDown(Level.Trial)
    public void close() {
        uring.close();
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
    public int unbatchedHandler() {
        long target = handled.done + 1;
        uring.submitWith(nop, handled);
        while (handled.done < target) uring.reap();
        return handled.res;
    }
}
