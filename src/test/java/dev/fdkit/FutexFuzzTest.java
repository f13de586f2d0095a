package dev.fdkit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random call sequences on futex words in one 64-byte native segment (and on heap, read-only, closed and
 * null memory), single-threaded: nobody wakes a waiter, so a wait must end by itself — at once when the word
 * does not hold the expected value, or when its timeout or deadline passes. A wait that can only end by a
 * wake (no timeout, or a far one, on a matching word) is not made.
 */
@Tag("fuzz")
@ExtendWith(LeakGuard.class)
class FutexFuzzTest {
    private static final long[] OFFSETS = {0, 4, 8, 60, 61, 62, 64, 1, 2, 3, -4, -1, Long.MAX_VALUE, Long.MIN_VALUE};

    private static final class State {
        final Arena arena = Arena.ofShared();
        final MemorySegment memory = arena.allocate(64, 64);
        final List<Futex> futexes = new ArrayList<>();
        boolean memoryClosed;

        Futex futex(int index) {
            return futexes.isEmpty() ? null : futexes.get(index % futexes.size());
        }
    }

    private static final MemorySegment CLOSED = closedSegment();

    private static MemorySegment closedSegment() {
        Arena arena = Arena.ofConfined();
        MemorySegment s = arena.allocate(64, 64);
        arena.close();
        return s;
    }

    @Test
    void randomCallSequencesKeepTheContractAndEveryWaitEndsByItself() throws Exception {
        Fuzz.check("Futex", new Fuzz.Api<State>() {
            @Override
            public State start() {
                return new State();
            }

            @Override
            public Fuzz.Call<State> next(Random r) {
                int i = r.nextInt(3);
                int pick = r.nextInt(3); // the expected value: the word's, another, or any
                int any = Fuzz.anyInt(r);
                Duration timeout = Fuzz.anyDuration(r);
                return switch (r.nextInt(13)) {
                    case 0, 1 -> make(r);
                    case 2 -> on(i, "set(" + any + "), get(), compareAndSet, getAndAdd", List.of(), (s, f) -> {
                        f.set(any);
                        assertThat(f.compareAndSet(any, any + 1)).isTrue();
                        assertThat(f.getAndAdd(-1)).isEqualTo(any + 1);
                        assertThat(f.get()).isEqualTo(any);
                    });
                    case 3, 4 -> on(i, "await(expected=" + describe(pick, any) + ", timeout=" + timeout + ")", List.of("timeout"), (s, f) -> {
                        int expected = expected(f, pick, any);
                        boolean matches = expected == f.get();
                        if (matches && !Fuzz.endsSoon(timeout)) return; // waits until woken: nobody wakes it
                        Futex.WaitResult result = f.await(expected, timeout);
                        assertThat(result).isEqualTo(matches ? Futex.WaitResult.TIMED_OUT : Futex.WaitResult.VALUE_MISMATCH);
                    });
                    case 5 -> on(i, "await(expected=" + describe(pick, any) + ") with no timeout", List.of(), (s, f) -> {
                        int expected = expected(f, pick, any);
                        if (expected == f.get()) return;
                        assertThat(f.await(expected)).isEqualTo(Futex.WaitResult.VALUE_MISMATCH);
                    });
                    case 6 -> {
                        Futex.Clock clock = r.nextInt(5) == 0 ? null : Futex.Clock.values()[r.nextInt(2)];
                        long offset = Fuzz.anyLong(r) % 20_000_000; // within 20 ms of now, or not (sign and size below)
                        boolean absolute = r.nextInt(4) == 0; // a raw value: 0, negative, huge
                        yield on(i, "awaitUntil(expected=" + describe(pick, any) + ", deadlineNanos=" + (absolute ? offset : "now" + (offset >= 0 ? "+" : "") + offset)
                                + ", clock=" + clock + ")", List.of("deadlineNanos", "clock"), (s, f) -> {
                            int expected = expected(f, pick, any);
                            long now = clock == Futex.Clock.REALTIME ? System.currentTimeMillis() * 1_000_000 : System.nanoTime();
                            long deadline = absolute ? offset : now + offset;
                            boolean matches = expected == f.get();
                            if (matches && deadline - now > 20_000_000) return; // waits until then
                            Futex.WaitResult result = f.awaitUntil(expected, deadline, clock);
                            assertThat(clock != null && deadline >= 0).as("awaitUntil returned without a clock or with a negative deadline").isTrue();
                            assertThat(result).isEqualTo(matches ? Futex.WaitResult.TIMED_OUT : Futex.WaitResult.VALUE_MISMATCH);
                        });
                    }
                    case 7 -> {
                        Instant deadline = switch (r.nextInt(5)) {
                            case 0 -> null;
                            case 1 -> Instant.MIN;
                            case 2 -> Instant.MAX;
                            case 3 -> Instant.EPOCH.minusNanos(1);
                            default -> null;
                        };
                        boolean soon = r.nextInt(5) == 4 && deadline == null;
                        yield on(i, "awaitUntil(expected=" + describe(pick, any) + ", deadline=" + (soon ? "now+5ms" : deadline) + ")", List.of("deadline"), (s, f) -> {
                            int expected = expected(f, pick, any);
                            Instant d = soon ? Instant.now().plusMillis(5) : deadline;
                            if (expected == f.get() && d == Instant.MAX) return; // waits until the end of time
                            Futex.WaitResult result = f.awaitUntil(expected, d);
                            assertThat(d != null && !d.isBefore(Instant.EPOCH)).as("awaitUntil returned for deadline %s", d).isTrue();
                            assertThat(result).isEqualTo(expected == f.get() ? Futex.WaitResult.TIMED_OUT : Futex.WaitResult.VALUE_MISMATCH);
                        });
                    }
                    case 8 -> {
                        int bitset = r.nextBoolean() ? 0 : Fuzz.anyInt(r);
                        yield on(i, "awaitBitset(expected=" + describe(pick, any) + ", bitset=" + bitset + ", deadline=past, MONOTONIC) and wakeBitset(1, bitset)",
                                List.of("bitset"), (s, f) -> {
                            int expected = expected(f, pick, any);
                            Futex.WaitResult result = f.awaitBitset(expected, bitset, 0, Futex.Clock.MONOTONIC);
                            assertThat(result).isEqualTo(expected == f.get() ? Futex.WaitResult.TIMED_OUT : Futex.WaitResult.VALUE_MISMATCH);
                            assertThat(f.wakeBitset(1, bitset)).isZero();
                        });
                    }
                    case 9 -> awaitAny(r);
                    case 10 -> {
                        int count = Fuzz.anyInt(r);
                        yield on(i, "wake(count=" + count + ")", List.of("count"), (s, f) -> assertThat(f.wake(count)).as("waiters woken").isZero());
                    }
                    case 11 -> {
                        int wakeCount = Fuzz.anyInt(r);
                        int requeueCount = Fuzz.anyInt(r);
                        boolean nullTarget = r.nextInt(6) == 0;
                        int j = r.nextInt(3);
                        yield on(i, "requeue(expected=" + describe(pick, any) + ", wakeCount=" + wakeCount + ", requeueCount=" + requeueCount + ", target="
                                + (nullTarget ? "null" : "#" + j) + ")", List.of("wakeCount", "requeueCount", "target"), (s, f) -> {
                            int expected = expected(f, pick, any);
                            Futex target = nullTarget ? null : s.futex(j);
                            int result = f.requeue(expected, wakeCount, requeueCount, target);
                            assertThat(result).isEqualTo(expected == f.get() ? 0 : -1);
                        });
                    }
                    default -> new Fuzz.Call<>("close the memory", List.of(), s -> {
                        s.arena.close(); // IllegalStateException if already closed
                        s.memoryClosed = true;
                    });
                };
            }

            @Override
            public void finish(State s) {
                if (!s.memoryClosed) s.arena.close();
            }
        });
    }

    private static Fuzz.Call<State> make(Random r) {
        int memory = r.nextInt(7);
        long offset = r.nextBoolean() ? OFFSETS[r.nextInt(OFFSETS.length)] : 4L * r.nextInt(16);
        boolean shared = r.nextBoolean();
        String name = switch (memory) {
            case 0, 1, 2 -> "the segment";
            case 3 -> "null";
            case 4 -> "a heap segment";
            case 5 -> "the segment, read-only";
            default -> "a closed segment";
        };
        return new Fuzz.Call<>((shared ? "sharedWord(" : "privateWord(") + name + ", offset=" + offset + ")", List.of("memory", "offset"), s -> {
            MemorySegment m = switch (memory) {
                case 0, 1, 2 -> s.memory;
                case 3 -> null;
                case 4 -> MemorySegment.ofArray(new byte[64]);
                case 5 -> s.memory.asReadOnly();
                default -> CLOSED;
            };
            Futex f = shared ? Futex.sharedWord(m, offset) : Futex.privateWord(m, offset);
            assertThat(memory <= 2 && !s.memoryClosed && offset >= 0 && offset <= 60 && offset % 4 == 0).as("a futex was made").isTrue();
            assertThat(f.isShared()).isEqualTo(shared);
            assertThat(f.word().byteSize()).isEqualTo(4);
            assertThat(f.toString()).contains(shared ? "shared" : "private");
            s.futexes.add(f);
        });
    }

    private static Fuzz.Call<State> awaitAny(Random r) {
        int size = switch (r.nextInt(6)) {
            case 0 -> -1; // a null list
            case 1 -> 0;
            case 2 -> Futex.MAX_WAITERS + 1;
            default -> 1 + r.nextInt(3);
        };
        int expectedLength = r.nextInt(5) == 0 ? size + 1 : size;
        boolean nullElement = r.nextInt(6) == 0;
        boolean nullExpected = r.nextInt(8) == 0;
        boolean allMatch = r.nextBoolean();
        Duration timeout = Fuzz.anyDuration(r);
        return new Fuzz.Call<>("awaitAny(" + (size < 0 ? "null" : size + " futexes" + (nullElement ? " one null" : "")) + ", expected="
                + (nullExpected ? "null" : expectedLength + " values, " + (allMatch ? "all matching" : "one not")) + ", timeout=" + timeout + ")",
                List.of("futexes", "expected", "timeout"), s -> {
            if (s.futexes.isEmpty() && size > 0) return;
            List<Futex> futexes = size < 0 ? null : new ArrayList<>(Collections.nCopies(Math.max(size, 0), (Futex) null));
            int[] expected = nullExpected ? null : new int[Math.max(expectedLength, 0)];
            for (int k = 0; futexes != null && k < size; k++) {
                Futex f = s.futexes.get(k % s.futexes.size());
                futexes.set(k, nullElement && k == size - 1 ? null : f);
                if (expected != null && k < expected.length) expected[k] = f.get() + (allMatch || k > 0 ? 0 : 1);
            }
            boolean valid = futexes != null && expected != null && size >= 1 && size <= Futex.MAX_WAITERS && expected.length == size && !nullElement
                    && !s.memoryClosed; // a negative timeout does not wait
            if (valid && allMatch && !Fuzz.endsSoon(timeout)) return; // waits until woken
            if (valid && allMatch && timeout == null) return;
            Futex.Woken woken = Futex.awaitAny(futexes, expected, timeout);
            assertThat(valid).as("awaitAny returned for arguments the model rejects: %s", woken).isTrue();
            assertThat(woken).isEqualTo(new Futex.Woken(allMatch ? Futex.WaitResult.TIMED_OUT : Futex.WaitResult.VALUE_MISMATCH, -1));
        });
    }

    /** A call on futex {@code index}, if one has been made. */
    private static Fuzz.Call<State> on(int index, String label, List<String> arguments, FutexBody body) {
        return new Fuzz.Call<>(label + " on #" + index, arguments, s -> {
            Futex f = s.futex(index);
            if (f == null) return;
            body.run(s, f);
            assertThat(s.memoryClosed).as("%s returned on closed memory", label).isFalse();
        });
    }

    @FunctionalInterface
    private interface FutexBody {
        void run(State s, Futex f) throws Exception;
    }

    private static int expected(Futex f, int pick, int any) {
        return switch (pick) {
            case 0 -> f.get();
            case 1 -> f.get() + 1;
            default -> any;
        };
    }

    private static String describe(int pick, int any) {
        return switch (pick) {
            case 0 -> "the word's value";
            case 1 -> "the word's value + 1";
            default -> Integer.toString(any);
        };
    }

}
