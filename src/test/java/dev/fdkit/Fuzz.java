package dev.fdkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * A small property-based fuzzer for fdkit's public API: random call sequences drawn from a seed, each call
 * bounded in time and judged by the API contract, the descriptor count checked after each sequence, and a
 * failing sequence shrunk to a short one that still fails and reported with its seed.
 * <p>
 * The contract: a call returns, or throws an IllegalArgumentException or NullPointerException whose message
 * names one of the call's arguments, an IllegalStateException or UnsupportedOperationException that says why,
 * an ErrnoException (also wrapped in UncheckedIOException), or an IOException the method declares. Anything
 * else, a call that does not return within {@link #CALL_LIMIT}, an AssertionError from the model a sequence
 * keeps, or a descriptor left open, is a failure.
 * <p>
 * Runs {@link Scale#fuzzTries()} sequences; {@code -Dfdkit.fuzz.seed=N} replays the ones a report names.
 * (A hand-made harness, not jqwik: jqwik's authors ask that AI coding agents, which wrote these tests, not use it.)
 */
final class Fuzz {
    static final Duration CALL_LIMIT = Duration.ofSeconds(5);
    private static final int MAX_CALLS = 40;
    private static final Duration SHRINK_BUDGET = Duration.ofSeconds(30);

    private Fuzz() {}

    /** A call's effect, given the state of its sequence; it may assert on the outcome against the state's model. */
    @FunctionalInterface
    interface Body<S> {
        void run(S state) throws Exception;
    }

    /**
     * One generated call. Its arguments were drawn when it was generated and are captured by {@code body},
     * so a sequence replays the same calls; {@code arguments} are the parameter names an exception may name.
     */
    record Call<S>(String label, List<String> arguments, Body<S> body) {
        @Override
        public String toString() {
            return label;
        }
    }

    /** A fuzzed API: a fresh state per sequence, the next random call, and the end of a sequence (close everything, check the model). */
    interface Api<S> {
        S start() throws Exception;

        Call<S> next(Random random);

        void finish(S state) throws Exception;
    }

    private record Failure(String what, Throwable cause) {}

    /** Runs the tries and throws an AssertionError describing the first failing sequence, shrunk. */
    static <S> void check(String name, Api<S> api) throws Exception {
        check(name, Scale.fuzzTries(), api);
    }

    /** {@link #check(String, Api)} with a number of tries of its own (for calls that spawn processes). */
    static <S> void check(String name, int tries, Api<S> api) throws Exception {
        long base = Long.getLong("fdkit.fuzz.seed", new Random().nextLong());
        Runner<S> runner = new Runner<>(api);
        try {
            int calls = 0;
            long began = System.nanoTime();
            for (int t = 0; t < tries; t++) {
                long seed = base + t;
                Random random = new Random(seed);
                List<Call<S>> sequence = new ArrayList<>();
                for (int n = 1 + random.nextInt(MAX_CALLS); n > 0; n--) sequence.add(api.next(random));
                calls += sequence.size();
                Failure failure = runner.run(sequence);
                if (failure != null) {
                    List<Call<S>> shrunk = runner.shrink(sequence);
                    Failure last = runner.run(shrunk);
                    if (last == null) last = failure; // a flaky failure: report the original
                    StringBuilder report = new StringBuilder(name + " fuzz: " + last.what() + "\nseed " + seed + " (-Dfdkit.fuzz.seed=" + seed
                            + " -Dfdkit.fuzz.tries=1 replays it); " + sequence.size() + " calls, shrunk to " + shrunk.size() + ":");
                    for (int i = 0; i < shrunk.size(); i++) report.append("\n  ").append(i + 1).append(". ").append(shrunk.get(i));
                    throw new AssertionError(report.toString(), last.cause());
                }
            }
            System.out.printf("%s fuzz: %d sequences, %d calls in %d ms (seeds %d..%d)%n", name, tries, calls,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began), base, base + tries - 1);
        } finally {
            runner.close();
        }
    }

    /** Runs sequences, each call on a worker thread so that a call that hangs is reported instead of hanging the test. */
    private static final class Runner<S> {
        private final Api<S> api;
        private ExecutorService worker = newWorker();

        Runner(Api<S> api) {
            this.api = api;
        }

        private static ExecutorService newWorker() {
            return Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name("fdkit-fuzz").daemon().unstarted(r));
        }

        Failure run(List<Call<S>> sequence) throws Exception {
            int fds = Processes.fdCount();
            S state;
            try {
                state = bounded(api::start);
            } catch (Throwable t) {
                return new Failure("start failed: " + t, t);
            }
            Failure failure = null;
            for (int i = 0; i < sequence.size() && failure == null; i++) {
                Call<S> call = sequence.get(i);
                failure = judge(call, i, () -> {
                    call.body().run(state);
                    return null;
                });
            }
            Failure finish = judge(new Call<>("(end of sequence)", List.of(), s -> { }), sequence.size(), () -> {
                api.finish(state);
                return null;
            });
            if (failure != null) return failure;
            if (finish != null) return finish;
            int after = Processes.fdCountSettlingTo(fds);
            return after == fds ? null : new Failure("open descriptors " + fds + " -> " + after + " after the sequence", null);
        }

        /** Runs one call with the time limit and holds its outcome against the contract. */
        private Failure judge(Call<S> call, int index, java.util.concurrent.Callable<Void> body) throws InterruptedException {
            try {
                bounded(body);
                return null;
            } catch (TimeoutException hung) {
                return new Failure("call " + (index + 1) + " (" + call + ") did not return within " + CALL_LIMIT, hung);
            } catch (Throwable t) {
                String why = breach(t, call.arguments());
                return why == null ? null : new Failure("call " + (index + 1) + " (" + call + ") " + why, t);
            }
        }

        private <T> T bounded(java.util.concurrent.Callable<T> body) throws Throwable {
            Future<T> result = worker.submit(body);
            try {
                return result.get(CALL_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw e.getCause();
            } catch (TimeoutException e) {
                StackTraceElement[] stack = stackOfWorker();
                result.cancel(true);
                worker.shutdownNow();
                worker = newWorker(); // the stuck one is abandoned: the test fails anyway
                TimeoutException hung = new TimeoutException("hung; the worker's stack:");
                hung.setStackTrace(stack);
                throw hung;
            }
        }

        private static StackTraceElement[] stackOfWorker() {
            return Thread.getAllStackTraces().entrySet().stream().filter(e -> e.getKey().getName().equals("fdkit-fuzz"))
                    .map(java.util.Map.Entry::getValue).findFirst().orElse(new StackTraceElement[0]);
        }

        /** Drops ever smaller runs of calls while the sequence still fails (ddmin-like), within a time budget. */
        List<Call<S>> shrink(List<Call<S>> failing) throws Exception {
            long deadline = System.nanoTime() + SHRINK_BUDGET.toNanos();
            List<Call<S>> current = failing;
            for (int chunk = Math.max(1, current.size() / 2); chunk >= 1 && System.nanoTime() < deadline; chunk /= 2) {
                for (int from = 0; from < current.size() && System.nanoTime() < deadline; ) {
                    List<Call<S>> candidate = new ArrayList<>(current.subList(0, from));
                    candidate.addAll(current.subList(Math.min(current.size(), from + chunk), current.size()));
                    if (!candidate.isEmpty() && run(candidate) != null) current = candidate;
                    else from += chunk;
                }
            }
            return current;
        }

        void close() throws InterruptedException {
            worker.shutdownNow();
            worker.awaitTermination(CALL_LIMIT.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /** Why {@code t} breaks the contract for a call with these argument names; null if it keeps it. */
    static String breach(Throwable t, List<String> arguments) {
        String message = t.getMessage();
        return switch (t) {
            case AssertionError a -> "broke the model: " + a.getMessage();
            // The JDK's helpful message ("Cannot invoke ... because "x" is null"): nobody checked the argument.
            case NullPointerException n when message != null && message.contains(" because ") -> "threw a NullPointerException from an unchecked null: " + message;
            case NullPointerException n when namesOneOf(message, arguments) -> null;
            case IllegalArgumentException a when namesOneOf(message, arguments) -> null;
            case NullPointerException n -> "threw a NullPointerException that names none of " + arguments + ": " + message;
            case IllegalArgumentException a -> "threw an IllegalArgumentException that names none of " + arguments + ": " + message;
            case IllegalStateException s when message != null && !message.isBlank() -> null;
            case UnsupportedOperationException u when message != null && !message.isBlank() -> null;
            case UncheckedIOException u when u.getCause() instanceof ErrnoException -> null;
            case IOException io when message != null && !message.isBlank() -> null; // ErrnoException, and what the method declares
            default -> "threw an exception outside the contract: " + t;
        };
    }

    private static boolean namesOneOf(String message, List<String> arguments) {
        if (message == null) return false;
        for (String a : arguments) if (Pattern.compile("(^|[^A-Za-z0-9_])" + Pattern.quote(a) + "($|[^A-Za-z0-9_])").matcher(message).find()) return true;
        return false;
    }

    /** Asserts that {@code call} throws {@code type} naming {@code argument}: what the model predicts for a bad argument. */
    static void rejects(Class<? extends RuntimeException> type, String argument, Runnable call) {
        try {
            call.run();
        } catch (RuntimeException e) {
            if (type.isInstance(e) && namesOneOf(e.getMessage(), List.of(argument))) return;
            throw new AssertionError("expected a " + type.getSimpleName() + " naming " + argument + ", got " + e, e);
        }
        throw new AssertionError("expected a " + type.getSimpleName() + " naming " + argument + ", but the call returned");
    }

    // ------------------------------------------------------------------ argument generators

    private static final long[] EDGE_LONGS = {0, 1, -1, 2, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 1, Integer.MAX_VALUE,
            Integer.MIN_VALUE, -2, 0xffff_ffffL};

    /** Edge values half the time, else small or any. */
    static long anyLong(Random r) {
        return switch (r.nextInt(4)) {
            case 0, 1 -> EDGE_LONGS[r.nextInt(EDGE_LONGS.length)];
            case 2 -> r.nextInt(200) - 20;
            default -> r.nextLong();
        };
    }

    static int anyInt(Random r) {
        return switch (r.nextInt(4)) {
            case 0 -> new int[] {0, 1, -1, 2, Integer.MAX_VALUE, Integer.MIN_VALUE, 64, 65, 128, 129}[r.nextInt(10)];
            case 1, 2 -> r.nextInt(140) - 10;
            default -> r.nextInt();
        };
    }

    /** Null, negative, zero, short, long and longer than a long of nanoseconds. */
    static Duration anyDuration(Random r) {
        return switch (r.nextInt(12)) {
            case 0 -> null;
            case 1 -> Duration.ofNanos(-1);
            case 2 -> Duration.ofSeconds(Long.MIN_VALUE);
            case 3, 4 -> Duration.ZERO;
            case 5 -> Duration.ofNanos(1);
            case 6, 7 -> Duration.ofMillis(1 + r.nextInt(10));
            case 8 -> Duration.ofHours(1);
            case 9 -> ChronoUnit.FOREVER.getDuration();
            case 10 -> Duration.ofSeconds(Long.MAX_VALUE, 999_999_999);
            default -> Duration.ofNanos(r.nextInt(2_000_000));
        };
    }

    /** Whether a wait for {@code d} may run to its end inside a fuzz call (null and negative fail at once). */
    static boolean endsSoon(Duration d) {
        return d == null || d.isNegative() || d.compareTo(Duration.ofMillis(20)) <= 0;
    }

    static <T> T pick(Random r, List<T> choices) {
        return choices.get(r.nextInt(choices.size()));
    }
}
