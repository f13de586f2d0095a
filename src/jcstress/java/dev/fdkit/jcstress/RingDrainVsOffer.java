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
 * Publication: a producer offers two records into a full-size wrapped ring while the consumer drains.
 * The consumer sees a prefix of what was published, each record whole (never a claimed, half-written
 * slot), and a later drain finds exactly the rest.
 * <p>
 * r1: what the racing drain got, r2: what a drain afterwards got, as digits in order (0 for nothing; a
 * torn record reads as 9).
 */
@JCStressTest
@Outcome(id = {"0, 12", "1, 2", "12, 0"}, expect = ACCEPTABLE, desc = "each record once, whole, in order")
@Outcome(expect = FORBIDDEN, desc = "a record lost, duplicated, torn or out of order")
@State
public class RingDrainVsOffer {
    private final CompletionRing ring = Rings.wrapped();

    @Actor
    public void producer() {
        Rings.offer(ring, 1);
        Rings.offer(ring, 2);
    }

    @Actor
    public void consumer(II_Result r) {
        r.r1 = Rings.drainCode(ring);
    }

    @Arbiter
    public void after(II_Result r) {
        r.r2 = Rings.drainCode(ring);
        ring.close();
    }
}
