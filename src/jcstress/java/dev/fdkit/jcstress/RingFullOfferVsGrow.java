package dev.fdkit.jcstress;

import dev.fdkit.CompletionRing;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Grow of a full ring: a producer offers a third record into a 2-slot ring holding two while it grows. The
 * offer is refused (it judged the old segment full) or lands in the new segment, after the two; never over
 * one of them.
 * <p>
 * r1: whether the offer was accepted (1) or refused (0), r2: every record drained afterwards, as digits in order.
 */
@JCStressTest
@Outcome(id = {"1, 123", "0, 12"}, expect = ACCEPTABLE, desc = "accepted after the two, or refused")
@Outcome(expect = FORBIDDEN, desc = "a record lost, overwritten, torn or out of order")
@State
public class RingFullOfferVsGrow {
    private final CompletionRing ring = full();

    private static CompletionRing full() {
        CompletionRing ring = Rings.wrapped();
        Rings.offer(ring, 1);
        Rings.offer(ring, 2);
        return ring;
    }

    @Actor
    public void producer(II_Result r) {
        r.r1 = Rings.offer(ring, 3) ? 1 : 0;
    }

    @Actor
    public void grower() {
        Rings.grow(ring, 4);
    }

    @Arbiter
    public void after(II_Result r) {
        r.r2 = Rings.drainCode(ring);
        ring.close();
    }
}
