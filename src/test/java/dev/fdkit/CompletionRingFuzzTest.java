package dev.fdkit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random call sequences on a CompletionRing (in memory or file-backed), single-threaded, against a model:
 * a FIFO of at most capacity records, whatever mix of offer, drain, poll, the eventfd doorbell drained by an
 * onCompletions handler, and awaitNonEmpty consumes it.
 */
@Tag("fuzz")
@ExtendWith(ProcessWarmUp.class) // the shared Uring a doorbell may use is JVM-lifetime baseline
@ExtendWith(LeakGuard.class)
class CompletionRingFuzzTest {
    private static final int[] CAPACITIES = {2, 4, 8, 16, 1024, 0, 1, 3, 6, -1, 1 << 27, Integer.MAX_VALUE, Integer.MIN_VALUE};

    @TempDir
    static Path dir;

    private static final class State {
        final Poller poller = Poller.open();
        CompletionRing ring = CompletionRing.allocate(4);
        int capacity = 4;
        boolean closed;
        final ArrayDeque<Completion> model = new ArrayDeque<>();
        final List<Completion> handled = new ArrayList<>(); // by the onCompletions handler
        long nextCookie;

        /** Closes the ring first: a file-backed one must not be truncated under its mapping. */
        void replace(java.util.concurrent.Callable<CompletionRing> with, int capacity) throws Exception {
            ring.close();
            closed = true;
            ring = with.call();
            this.capacity = capacity;
            closed = false;
            model.clear();
        }

        /** What the onCompletions handler consumed is what the model held first, in order. */
        void takeHandled() {
            for (Completion c : handled) assertThat(c).as("record handed to onCompletions").isEqualTo(model.pollFirst());
            handled.clear();
        }
    }

    @Test
    void randomCallSequencesKeepTheContractAndTheFifoModel() throws Exception {
        Fuzz.check("CompletionRing", new Fuzz.Api<State>() {
            @Override
            public State start() {
                return new State();
            }

            @Override
            public Fuzz.Call<State> next(Random r) {
                int capacity = CAPACITIES[r.nextInt(CAPACITIES.length)];
                int limit = Fuzz.anyInt(r);
                Duration timeout = Fuzz.anyDuration(r);
                return switch (r.nextInt(14)) {
                    case 0 -> new Fuzz.Call<>("allocate(capacity=" + capacity + ")", List.of("capacity"), s -> {
                        s.replace(() -> CompletionRing.allocate(capacity), capacity);
                        assertThat(Integer.bitCount(capacity) == 1 && capacity >= 2).as("a ring was allocated").isTrue();
                    });
                    case 1 -> new Fuzz.Call<>("create(file, capacity=" + capacity + ") and open(file)", List.of("capacity"), s -> {
                        Path file = dir.resolve("ring");
                        s.replace(() -> CompletionRing.create(file, capacity), capacity);
                        CompletionRing created = s.ring;
                        try (CompletionRing opened = CompletionRing.open(file)) {
                            assertThat(opened.capacity()).isEqualTo(capacity);
                            assertThat(opened.offer(-1, -2, -3, -4)).as("an offer through a second mapping").isTrue();
                            s.model.add(new Completion(-1, -2, -3, -4));
                            assertThat(created.size()).isEqualTo(1);
                        }
                    });
                    case 2 -> {
                        int kind = r.nextInt(3);
                        yield new Fuzz.Call<>("open(" + new String[] {"null", "a missing file", "a file of garbage"}[kind] + ")", List.of("file"), s -> {
                            Path file = switch (kind) {
                                case 0 -> null;
                                case 1 -> dir.resolve("missing");
                                default -> Files.write(dir.resolve("garbage"), new byte[4096 + r.nextInt(3)]);
                            };
                            CompletionRing.open(file).close();
                            throw new AssertionError("open(" + file + ") returned");
                        });
                    }
                    case 3, 4, 5 -> {
                        int count = 1 + r.nextInt(6);
                        long res = Fuzz.anyLong(r);
                        yield ring("offer() x" + count + " (res=" + res + ")", List.of(), s -> {
                            for (int k = 0; k < count; k++) {
                                Completion c = new Completion(s.nextCookie++, k, res, ~res);
                                boolean room = s.model.size() < s.capacity;
                                assertThat(s.ring.offer(c)).as("offer with %s of %s taken", s.model.size(), s.capacity).isEqualTo(room);
                                if (room) s.model.add(c);
                            }
                        });
                    }
                    case 6 -> {
                        boolean nullHandler = r.nextInt(6) == 0;
                        yield ring("drain(" + (nullHandler ? "null" : "handler") + ", limit=" + limit + ")", List.of("handler", "limit"), s -> {
                            List<Completion> got = new ArrayList<>();
                            int n = s.ring.drain(nullHandler ? null : (cookie, obj, res, res2) -> got.add(new Completion(cookie, obj, res, res2)), limit);
                            assertThat(n).isEqualTo(got.size()).isEqualTo(Math.min(limit, s.model.size()));
                            for (Completion c : got) assertThat(c).isEqualTo(s.model.pollFirst());
                        });
                    }
                    case 7 -> ring("poll(), size(), isEmpty()", List.of(), s -> {
                        assertThat(s.ring.size()).isEqualTo(s.model.size());
                        assertThat(s.ring.isEmpty()).isEqualTo(s.model.isEmpty());
                        assertThat(s.ring.poll()).isEqualTo(s.model.pollFirst());
                    });
                    case 8 -> ring("armDoorbell(), fd()", List.of(), s -> {
                        assertThat(s.ring.armDoorbell()).as("armDoorbell: true when nothing waits").isEqualTo(s.model.isEmpty());
                        assertThat(s.ring.fd()).isNotNegative();
                    });
                    case 9 -> ring("awaitNonEmpty(timeout=" + timeout + ")", List.of("timeout"), s -> {
                        if (!s.closed && s.model.isEmpty() && !Fuzz.endsSoon(timeout)) return; // waits for a producer: none comes
                        assertThat(s.ring.awaitNonEmpty(timeout)).isEqualTo(!s.model.isEmpty());
                    });
                    case 10 -> ring("onCompletions(poller, handler)", List.of("poller", "handler"), s -> s.ring.onCompletions(s.poller,
                            (cookie, obj, res, res2) -> s.handled.add(new Completion(cookie, obj, res, res2))));
                    case 11 -> new Fuzz.Call<>("poll(ZERO) the poller of onCompletions", List.of(), s -> {
                        s.poller.poll(Duration.ZERO);
                        s.takeHandled();
                    });
                    case 12 -> new Fuzz.Call<>("close()", List.of(), s -> {
                        s.ring.close();
                        s.closed = true;
                        assertThat(s.ring.toString()).contains("closed");
                    });
                    default -> new Fuzz.Call<>("capacity(), memory(), toString()", List.of(), s -> {
                        assertThat(s.ring.capacity()).isEqualTo(s.capacity);
                        assertThat(s.ring.memory().byteSize()).isEqualTo(CompletionRingLayout.byteSize(s.capacity));
                        assertThat(s.ring.toString()).isNotBlank();
                    });
                };
            }

            @Override
            public void finish(State s) {
                s.ring.close();
                s.poller.close();
            }
        });
    }

    /** A call on the ring: once it is closed the call must throw IllegalStateException. */
    private static Fuzz.Call<State> ring(String label, List<String> arguments, Fuzz.Body<State> body) {
        return new Fuzz.Call<>(label, arguments, s -> {
            boolean closed = s.closed;
            body.run(s);
            assertThat(closed).as("%s returned on a closed ring", label).isFalse();
        });
    }
}
