package dev.fdkit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.Fuzz.CALL_LIMIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Random call sequences on up to three EventFds, against a model of each counter (unsigned, saturating at
 * {@link EventFd#MAX_COUNT}, semaphore or not) and of the readAsync futures waiting on it.
 */
@Tag("fuzz")
@ExtendWith(LeakGuard.class)
class EventFdFuzzTest {

    /** One EventFd and what the model says about it. Invariant between calls: futures wait only on an empty counter. */
    private static final class Counter {
        final EventFd eventFd;
        final boolean semaphore;
        long count; // unsigned
        boolean closed;
        final List<CompletableFuture<Long>> waiting = new ArrayList<>();

        Counter(boolean semaphore) {
            this.semaphore = semaphore;
            this.eventFd = semaphore ? EventFd.openSemaphore() : EventFd.open();
        }

        /** What one read takes: everything, or one in semaphore mode. */
        long take() {
            long value = semaphore ? 1 : count;
            count -= value;
            return value;
        }

        /** The shared poller hands a non-zero counter to the waiting futures, in order: wait for that, then check the values. */
        void settle() throws Exception {
            while (!waiting.isEmpty() && count != 0) {
                long expected = take();
                assertThat(waiting.removeFirst().get(CALL_LIMIT.toMillis(), TimeUnit.MILLISECONDS)).as("value handed to a waiting readAsync").isEqualTo(expected);
            }
        }
    }

    private static final class State {
        final List<Counter> counters = new ArrayList<>();

        /** The counter the call is about, or null (the call does nothing) if there is none yet. */
        Counter at(int index) {
            return counters.isEmpty() ? null : counters.get(index % counters.size());
        }
    }

    @Test
    void randomCallSequencesKeepTheContractAndTheCounterModel() throws Exception {
        Fuzz.check("EventFd", new Fuzz.Api<State>() {
            @Override
            public State start() {
                return new State();
            }

            @Override
            public Fuzz.Call<State> next(Random r) {
                int i = r.nextInt(3);
                long n = Fuzz.anyLong(r);
                return switch (r.nextInt(11)) {
                    case 0 -> {
                        boolean semaphore = r.nextBoolean();
                        yield call(semaphore ? "openSemaphore()" : "open()", s -> {
                            if (s.counters.size() < 3) s.counters.add(new Counter(semaphore));
                        });
                    }
                    case 1, 2 -> call("trySignal(n=" + n + ") on #" + i, List.of("n"), i, c -> {
                        if (n <= 0 && !c.closed) {
                            Fuzz.rejects(IllegalArgumentException.class, "n", () -> c.eventFd.trySignal(n));
                            return;
                        }
                        boolean fits = Long.compareUnsigned(n, EventFd.MAX_COUNT - c.count) <= 0;
                        assertThat(c.eventFd.trySignal(n)).as("trySignal(%s) with %s counted", n, Long.toUnsignedString(c.count)).isEqualTo(fits);
                        if (fits) c.count += n;
                        c.settle();
                    });
                    case 3 -> call("signal(n=" + n + ") on #" + i, List.of("n"), i, c -> {
                        if (!c.closed && n > 0 && Long.compareUnsigned(n, EventFd.MAX_COUNT - c.count) > 0) return; // would wait for a reader: none comes
                        c.eventFd.signal(n); // n <= 0: IllegalArgumentException naming n, judged by the contract
                        c.count += n;
                        c.settle();
                    });
                    case 4 -> call("tryRead() on #" + i, i, c -> {
                        OptionalLong expected = c.count == 0 ? OptionalLong.empty() : OptionalLong.of(c.take());
                        assertThat(c.eventFd.tryRead()).isEqualTo(expected);
                    });
                    case 5 -> call("tryReadValue() on #" + i, i, c -> {
                        long expected = c.count == 0 ? 0 : c.take();
                        assertThat(c.eventFd.tryReadValue()).isEqualTo(expected);
                    });
                    case 6 -> call("read() on #" + i, i, c -> {
                        if (!c.closed && c.count == 0) return; // would wait for a writer: none comes
                        long expected = c.take();
                        assertThat(c.eventFd.read()).isEqualTo(expected);
                    });
                    case 7 -> call("readAsync() on #" + i, i, c -> {
                        CompletableFuture<Long> f = c.eventFd.readAsync();
                        c.waiting.add(f);
                        c.settle();
                    });
                    case 8 -> call("cancel the first readAsync future of #" + i, i, c -> {
                        if (c.waiting.isEmpty()) return; // always so once closed
                        assertThat(c.waiting.removeFirst().cancel(false)).as("cancelled before any value came").isTrue();
                    });
                    case 9 -> call("close() #" + i, i, EventFdFuzzTest::close);
                    default -> call("fd(), toString(), isSemaphore() of #" + i, i, c -> {
                        assertThat(c.eventFd.isSemaphore()).isEqualTo(c.semaphore);
                        assertThat(c.eventFd.toString()).contains(c.closed ? "closed" : "fd=");
                        assertThat(c.eventFd.fd()).isNotNegative(); // IllegalStateException once closed
                    });
                };
            }

            @Override
            public void finish(State s) throws Exception {
                for (Counter c : s.counters) close(c);
            }
        });
    }

    /** close(): every future still waiting fails with an IOException, and every later call but these throws IllegalStateException. */
    private static void close(Counter c) throws Exception {
        c.eventFd.close();
        c.closed = true;
        for (CompletableFuture<Long> f : c.waiting) {
            assertThatThrownBy(() -> f.get(CALL_LIMIT.toMillis(), TimeUnit.MILLISECONDS)).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(IOException.class).hasMessageContaining("closed");
        }
        c.waiting.clear();
    }

    private static Fuzz.Call<State> call(String label, Fuzz.Body<State> body) {
        return new Fuzz.Call<>(label, List.of(), body);
    }

    private static Fuzz.Call<State> call(String label, int index, Fuzz.Body<Counter> body) {
        return call(label, List.of(), index, body);
    }

    /** A call on counter {@code index}; on a closed counter it must throw (IllegalStateException, or the contract's exception for a bad argument). */
    private static Fuzz.Call<State> call(String label, List<String> arguments, int index, Fuzz.Body<Counter> body) {
        boolean mayReturnWhenClosed = label.startsWith("close") || label.startsWith("cancel");
        return new Fuzz.Call<>(label, arguments, s -> {
            Counter c = s.at(index);
            if (c == null) return;
            boolean closed = c.closed;
            body.run(c);
            if (closed && !mayReturnWhenClosed) throw new AssertionError(label + " returned on a closed EventFd");
        });
    }
}
