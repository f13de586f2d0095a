package dev.fdkit.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * Timeouts given as a Duration, one rule for every blocking call in fdkit:
 * <ul>
 * <li>a negative timeout means "do not wait", as zero does: the call looks once and returns at once, as
 *     java.lang.Process#waitFor(-1, SECONDS) and every java.util.concurrent timed wait do;</li>
 * <li>a Duration can be far longer than a long of nanoseconds (292 years): "wait practically forever" must
 *     not turn into an ArithmeticException, so it saturates at Long.MAX_VALUE (forever).</li>
 * </ul>
 */
public final class Durations {
    private Durations() {}

    /**
     * {@code timeout} in nanoseconds: 0 for a negative timeout (do not wait), saturating at Long.MAX_VALUE,
     * which callers treat as "wait forever".
     *
     * @throws NullPointerException if {@code timeout} is null, naming the argument {@code name}
     */
    public static long timeoutNanos(Duration timeout, String name) {
        Objects.requireNonNull(timeout, name);
        if (timeout.isNegative()) return 0;
        try {
            return timeout.toNanos();
        } catch (ArithmeticException beyond292Years) {
            return Long.MAX_VALUE;
        }
    }

    /** {@code now + nanos} for a non-negative {@code nanos}, saturating at Long.MAX_VALUE: an absolute deadline that never wraps. */
    public static long deadline(long now, long nanos) {
        long deadline = now + nanos;
        return deadline < now ? Long.MAX_VALUE : deadline;
    }
}
