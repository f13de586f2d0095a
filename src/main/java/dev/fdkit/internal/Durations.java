package dev.fdkit.internal;

import java.time.Duration;
import java.util.Objects;

/**
 * Timeouts given as a Duration, one rule for every blocking call: a Duration can be far longer than a long
 * of nanoseconds (292 years), and "wait practically forever" must not turn into an ArithmeticException.
 */
public final class Durations {
    private Durations() {}

    /**
     * {@code timeout} in nanoseconds, saturating at Long.MAX_VALUE, which callers treat as "wait forever";
     * the exceptions name the argument {@code name}.
     *
     * @throws NullPointerException     if {@code timeout} is null
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    public static long timeoutNanos(Duration timeout, String name) {
        Objects.requireNonNull(timeout, name);
        if (timeout.isNegative()) throw new IllegalArgumentException(name + " must not be negative, was " + timeout);
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
