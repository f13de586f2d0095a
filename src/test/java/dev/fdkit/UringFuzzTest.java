package dev.fdkit;

import dev.fdkit.internal.Errno;
import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.Fuzz.CALL_LIMIT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random operations, cookies and batches submitted to a Uring, against a model of what must complete at once
 * and with which result (NOP, a timeout that has passed, a cancel, a futex wait on a word that moved, a read of
 * a signalled eventfd) and what only a cancel or close() can end (an hour's timeout, a read of an eventfd nobody
 * signals, a wait on a futex nobody wakes). close() must end every operation still in flight.
 */
@Tag("fuzz")
@ExtendWith(ProcessWarmUp.class)
@ExtendWith(LeakGuard.class)
class UringFuzzTest {

    @BeforeAll
    static void needsIoUring() {
        Assumptions.assumeTrue(Linux.has(Feature.IO_URING), "io_uring is unavailable");
    }

    /** An operation submitted and its future; {@code expected} is its result if it must complete at once, else null. */
    private record Submitted(Uring.Op op, CompletableFuture<Completion> future, Long expected) {}

    private static final class State {
        final Arena arena = Arena.ofShared();
        final MemorySegment word = arena.allocate(4, 4);
        final Futex futex = Futex.privateWord(word, 0);
        final EventFd never = EventFd.open(); // nobody signals it
        final List<EventFd> signalled = new ArrayList<>(); // one per Read of a signalled eventfd: no other op takes its value
        Uring uring = Uring.open(8);
        boolean closed;
        long cookies = 1;
        final List<Submitted> stuck = new ArrayList<>(); // in flight until cancelled or closed

        long usedCookie(int index) {
            return stuck.isEmpty() ? cookies++ : stuck.get(index % stuck.size()).op().cookie();
        }
    }

    @Test
    void randomSubmissionsKeepTheContractAndEndWithCloseAtTheLatest() throws Exception {
        Fuzz.check("Uring", new Fuzz.Api<State>() {
            @Override
            public State start() {
                return new State();
            }

            @Override
            public Fuzz.Call<State> next(Random r) {
                int i = r.nextInt(8);
                return switch (r.nextInt(10)) {
                    case 0 -> {
                        int entries = Fuzz.anyInt(r);
                        int cq = r.nextBoolean() ? entries : Fuzz.anyInt(r);
                        boolean nullPoller = r.nextInt(5) == 0;
                        yield new Fuzz.Call<>("open(entries=" + entries + ", completionEntries=" + cq + ", " + (nullPoller ? "null" : "the shared poller") + ")",
                                List.of("entries", "completionEntries", "poller"), s -> {
                            closeUring(s);
                            s.uring = Uring.open(entries, cq, nullPoller ? null : Poller.shared()); // a CQ the kernel refuses: ErrnoException
                            s.closed = false;
                            assertThat(s.uring.submissionEntries()).isGreaterThanOrEqualTo(entries);
                        });
                    }
                    case 1, 2, 3, 4 -> {
                        List<OpMaker> makers = new ArrayList<>();
                        int batch = r.nextInt(4) == 0 ? r.nextInt(4) : 1;
                        for (int k = 0; k < batch; k++) makers.add(op(r));
                        boolean all = batch != 1 || r.nextBoolean();
                        yield uring((all ? "submitAll(" : "submit(") + makers + ")", List.of("ops", "op", "cookie", "after", "target", "events", "buffer", "futex",
                                "count", "futexes", "expected", "process"), s -> submit(s, makers, all));
                    }
                    case 5 -> uring("cancel(cookie of in-flight #" + i + ")", List.of(), s -> {
                        if (s.closed) s.uring.cancel(s.cookies++); // IllegalStateException
                        if (s.stuck.isEmpty()) return;
                        Submitted target = s.stuck.remove(i % s.stuck.size());
                        boolean cancelledBefore = target.future().isDone(); // by a Cancel op in a batch
                        long res = get(s.uring.cancel(target.op().cookie())).res();
                        // ENOENT too when a Cancel op of an earlier batch ended it and its completion is not reaped yet:
                        // the target must then end cancelled all the same (checked below).
                        if (!cancelledBefore) assertThat(res).as("cancel of %s", target.op()).isIn(0L, 1L, (long) -Errno.ENOENT);
                        assertThat(get(target.future()).res()).isEqualTo(-Errno.ECANCELED);
                    });
                    case 6 -> uring("FutexWake(count=" + (1 + i) + ")", List.of(), s -> {
                        // the kernel counts one waiter per word of a FUTEX_WAITV (here all on the same word)
                        long waiting = s.stuck.stream().filter(x -> !x.future().isDone()).mapToLong(x -> waiters(x.op())).sum();
                        Completion c = get(s.uring.submit(new Uring.FutexWake(s.futex, 1 + i, s.cookies++)));
                        // at most: a waiter woken by an earlier wake may not have completed yet, and so still count here
                        assertThat(c.res()).as("waiters woken").isBetween(0L, Math.min(waiting, 1 + i));
                        awaitWoken(s, c.res());
                    });
                    case 7 -> uring("reap(), inFlight(), fd(), toString()", List.of(), s -> {
                        assertThat(s.uring.reap()).isNotNegative();
                        assertThat(s.uring.inFlight()).isNotNegative();
                        assertThat(s.uring.fd()).isNotNegative();
                        assertThat(s.uring.toString()).contains("inFlight");
                    });
                    case 8 -> new Fuzz.Call<>("close()", List.of(), UringFuzzTest::closeUring);
                    default -> uring("submit(op, null consumer)", List.of("each"), s -> s.uring.submit(new Uring.Nop(s.cookies++), null));
                };
            }

            @Override
            public void finish(State s) {
                try {
                    closeUring(s);
                } finally { // also after a failure: the next sequences, and the next test classes, count descriptors
                    s.never.close();
                    for (EventFd e : s.signalled) e.close();
                    s.arena.close();
                }
            }
        });
    }

    /** Makes an op for the state it is submitted in; toString shows what was drawn. */
    private record OpMaker(String label, java.util.function.Function<State, Uring.Op> make, java.util.function.ToLongFunction<State> expected) {
        @Override
        public String toString() {
            return label;
        }
    }

    private static final long STUCK = Long.MIN_VALUE; // "expected": completes only when cancelled or closed
    private static final long ANY = Long.MAX_VALUE; // "expected": completes at once, any result

    private static OpMaker op(Random r) {
        int cookieKind = r.nextInt(12); // 0: one in flight, 1: the reserved one, else a fresh one
        int i = r.nextInt(8);
        Duration after = Fuzz.anyDuration(r);
        int events = r.nextInt(3) == 0 ? Fuzz.anyInt(r) : 1 + r.nextInt(7);
        int kind = r.nextInt(12);
        String cookie = cookieKind == 0 ? "a cookie in flight" : cookieKind == 1 ? "cookie MIN_VALUE" : "a new cookie";
        java.util.function.ToLongFunction<State> cookieOf = s -> cookieKind == 0 ? s.usedCookie(i) : cookieKind == 1 ? Long.MIN_VALUE : s.cookies++;
        return switch (kind) {
            case 0 -> new OpMaker("Nop(" + cookie + ")", s -> new Uring.Nop(cookieOf.applyAsLong(s)), s -> 0);
            case 1, 2 -> new OpMaker("Timeout(" + after + ", " + cookie + ")", s -> new Uring.Timeout(after, cookieOf.applyAsLong(s)),
                    s -> Fuzz.endsSoon(after) ? -fdkit_h.ETIME() : STUCK);
            case 3 -> new OpMaker("Cancel(cookie of in-flight #" + i + ", " + cookie + ")", s -> new Uring.Cancel(s.usedCookie(i), cookieOf.applyAsLong(s)), s -> ANY);
            case 4 -> {
                boolean multishot = r.nextBoolean();
                // an eventfd is always writable: a single-shot poll for it completes at once, a multishot one goes on
                long expected = (events & Poller.WRITABLE) != 0 && !multishot ? ANY : STUCK;
                yield new OpMaker("PollAdd(the silent eventfd, events=0x" + Integer.toHexString(events) + (multishot ? ", multishot, " : ", ") + cookie + ")",
                        s -> new Uring.PollAdd(s.never, events, multishot, cookieOf.applyAsLong(s)), s -> expected);
            }
            case 5 -> new OpMaker("PollAdd(" + (i < 4 ? "null" : "a foreign Pollable") + ", " + cookie + ")",
                    s -> new Uring.PollAdd(i < 4 ? null : () -> 0, Poller.READABLE, false, cookieOf.applyAsLong(s)), s -> STUCK);
            case 6 -> {
                int buffer = r.nextInt(6);
                String name = new String[] {"8 native bytes", "8 native bytes", "null", "a heap buffer", "a read-only buffer", "an empty buffer"}[buffer];
                yield new OpMaker("Read(the " + (i < 4 ? "silent" : "signalled") + " eventfd, " + name + ", " + cookie + ")", s -> {
                    MemorySegment b = switch (buffer) {
                        case 0, 1 -> s.arena.allocate(JAVA_LONG);
                        case 2 -> null;
                        case 3 -> MemorySegment.ofArray(new long[1]);
                        case 4 -> s.arena.allocate(JAVA_LONG).asReadOnly();
                        default -> s.arena.allocate(0);
                    };
                    EventFd target = s.never;
                    if (i >= 4) {
                        s.signalled.add(target = EventFd.open());
                        target.trySignal(1 + i);
                    }
                    return new Uring.Read(target, b, cookieOf.applyAsLong(s));
                }, s -> i < 4 ? STUCK : 8);
            }
            case 7, 8 -> new OpMaker("FutexWait(expected=" + (i < 4 ? "the word's value" : "another") + ", " + cookie + ")",
                    s -> new Uring.FutexWait(s.futex, s.futex.get() + (i < 4 ? 0 : 1), cookieOf.applyAsLong(s)), s -> i < 4 ? STUCK : -Errno.EAGAIN);
            case 9 -> {
                int count = Fuzz.anyInt(r);
                yield new OpMaker("FutexWake(count=" + count + ", " + cookie + ")", s -> new Uring.FutexWake(s.futex, count, cookieOf.applyAsLong(s)), s -> ANY);
            }
            case 10 -> {
                int size = r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(3);
                boolean mismatch = r.nextBoolean();
                yield new OpMaker("FutexWaitv(" + size + " words, " + (mismatch ? "one moved" : "all as expected") + ", " + cookie + ")", s -> {
                    int[] expected = new int[size];
                    Arrays.fill(expected, s.futex.get());
                    if (mismatch && size > 0) expected[0]++;
                    return new Uring.FutexWaitv(java.util.Collections.nCopies(size, s.futex), expected, cookieOf.applyAsLong(s));
                }, s -> mismatch ? -Errno.EAGAIN : STUCK);
            }
            default -> new OpMaker("Waitid(null, " + cookie + ")", s -> new Uring.Waitid(null, false, cookieOf.applyAsLong(s)), s -> STUCK);
        };
    }

    private static void submit(State s, List<OpMaker> makers, boolean all) throws Exception {
        List<Uring.Op> ops = new ArrayList<>();
        List<Long> expected = new ArrayList<>();
        for (OpMaker m : makers) {
            ops.add(m.make().apply(s));
            expected.add(m.expected().applyAsLong(s));
        }
        List<CompletableFuture<Completion>> futures = all ? s.uring.submitAll(ops) : List.of(s.uring.submit(ops.getFirst()));
        assertThat(futures).hasSize(ops.size());
        // A Cancel op of the same batch may reach an op before it completes (its cookie can be reused once free)
        java.util.Set<Long> cancelled = new java.util.HashSet<>();
        for (Uring.Op op : ops) if (op instanceof Uring.Cancel c) cancelled.add(c.targetCookie());
        for (int k = 0; k < ops.size(); k++) {
            long e = expected.get(k);
            Submitted submitted = new Submitted(ops.get(k), futures.get(k), e);
            if (e == STUCK) {
                s.stuck.add(submitted);
                continue;
            }
            Completion c = get(futures.get(k));
            assertThat(c.cookie()).isEqualTo(ops.get(k).cookie());
            if (e != ANY && cancelled.contains(ops.get(k).cookie())) {
                assertThat(c.res()).as("result of %s, a target of the batch's Cancel", ops.get(k)).isIn(e, (long) -Errno.ECANCELED);
            } else if (e != ANY) assertThat(c.res()).as("result of %s", ops.get(k)).isEqualTo(e);
        }
        awaitWoken(s, wakes(ops, futures));
    }

    /** Waiters woken by the FutexWake ops among {@code ops}: their results. */
    private static long wakes(List<Uring.Op> ops, List<CompletableFuture<Completion>> futures) throws Exception {
        long woken = 0;
        for (int k = 0; k < ops.size(); k++) if (ops.get(k) instanceof Uring.FutexWake) woken += Math.max(0, get(futures.get(k)).res());
        return woken;
    }

    /**
     * The in-flight futex waits a wake counted complete (the wait's CQE may be reaped after the wake's): FUTEX_WAIT
     * with res 0, FUTEX_WAITV with the index of the word that woke it. The kernel counts a FUTEX_WAITV once per word
     * woken, so {@code woken} waiters make at least one wait complete, and all of them when it covers them all.
     * Bounded below the call's limit, so that a wrong count shows as a broken model, not as a hang.
     */
    private static void awaitWoken(State s, long woken) throws InterruptedException {
        if (woken == 0) return;
        long all = s.stuck.stream().mapToLong(x -> waiters(x.op())).sum();
        long deadline = System.nanoTime() + CALL_LIMIT.toNanos() / 2;
        for (;;) {
            // A wait that a Cancel op of an earlier batch is ending may still be counted by the wake: it then ends
            // ECANCELED rather than woken.
            List<Submitted> done = s.stuck.stream().filter(x -> waiters(x.op()) > 0 && x.future().isDone() && !x.future().isCompletedExceptionally()
                    && (x.future().join().res() >= 0 || x.future().join().res() == -Errno.ECANCELED)).toList();
            long doneWaiters = done.stream().mapToLong(x -> waiters(x.op())).sum();
            if (woken >= all ? doneWaiters == all : !done.isEmpty()) {
                s.stuck.removeAll(done); // others the wake reached complete later: close() accepts their result
                return;
            }
            if (System.nanoTime() > deadline) throw new AssertionError(woken + " futex waiters woken, " + doneWaiters + " of their waits completed");
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // completions arrive on the poller thread: look again
        }
    }

    /** How many futex waiters the kernel counts for {@code op}: one per word. */
    private static long waiters(Uring.Op op) {
        return switch (op) {
            case Uring.FutexWait w -> 1;
            case Uring.FutexWaitv v -> v.futexes().size();
            default -> 0;
        };
    }

    /** close(): every operation in flight ends, failed with an IOException or cancelled; later calls throw IllegalStateException. */
    private static void closeUring(State s) {
        s.uring.close();
        s.closed = true;
        for (Submitted x : s.stuck) {
            try {
                Completion c = x.future().get(CALL_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
                if (waiters(x.op()) == 0) assertThat(c.res()).as("%s completed at close", x.op()).isNegative(); // a futex wait may have been woken
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(java.io.IOException.class).hasMessageContaining("closed");
            } catch (Exception e) {
                throw new AssertionError(x.op() + " still in flight after close()", e);
            }
        }
        s.stuck.clear();
    }

    private static Completion get(CompletableFuture<Completion> f) throws Exception {
        return f.get(CALL_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A call on the ring: once it is closed the call must throw IllegalStateException. */
    private static Fuzz.Call<State> uring(String label, List<String> arguments, Fuzz.Body<State> body) {
        return new Fuzz.Call<>(label, arguments, s -> {
            boolean closed = s.closed;
            body.run(s);
            assertThat(closed).as("%s returned on a closed Uring", label).isFalse();
        });
    }
}
