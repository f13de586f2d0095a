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
 * Grow: a producer offers two records into a wrapped ring while the consumer grows it and drains. Each record
 * lands in the old segment or the new one (the claim CAS fails once the tail has the moved bit); the consumer
 * takes the old segment's to its last claimed position before the new one's, so it sees a prefix in order,
 * each record whole, and a later drain finds exactly the rest.
 * Two actors, not a third for the grow: jcstress needs a CPU per actor.
 * <p>
 * r1: what the racing drain got, r2: what a drain afterwards got, as digits in order (0 for nothing; a torn
 * record reads as 9).
 */
@JCStressTest
@Outcome(id = {"0, 12", "1, 2", "12, 0"}, expect = ACCEPTABLE, desc = "each record once, whole, in order")
@Outcome(expect = FORBIDDEN, desc = "a record lost, duplicated, torn or out of order")
@State
public class RingOfferVsGrow {
    private final CompletionRing ring = Rings.wrapped();

    @Actor
    public void producer() {
        Rings.offer(ring, 1);
        Rings.offer(ring, 2);
    }

    /** Grows, then drains at once: the producer may still be in the old segment, or between its two offers. */
    @Actor
    public void consumer(II_Result r) {
        Rings.grow(ring, 4);
        r.r1 = Rings.drainCode(ring);
    }

    @Arbiter
    public void after(II_Result r) {
        r.r2 = Rings.drainCode(ring);
        ring.close();
    }
}
