package dev.fdkit.jcstress;

import dev.fdkit.CompletionRing;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.III_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two producers claim the last two free slots of a ring that has wrapped: both offers succeed, each record
 * is there once, whole, in claim order — never overwritten, never torn, never refused.
 * <p>
 * r1, r2: each producer's offer accepted (1). r3: the records a drain finds afterwards, as digits in
 * order (12 or 21; a torn record reads as 9).
 */
@JCStressTest
@Outcome(id = {"1, 1, 12", "1, 1, 21"}, expect = ACCEPTABLE, desc = "both records, once each, in claim order")
@Outcome(expect = FORBIDDEN, desc = "an offer refused, a record lost, duplicated or torn")
@State
public class RingOfferVsOffer {
    private final CompletionRing ring = Rings.wrapped();

    @Actor
    public void first(III_Result r) {
        r.r1 = Rings.offer(ring, 1) ? 1 : 0;
    }

    @Actor
    public void second(III_Result r) {
        r.r2 = Rings.offer(ring, 2) ? 1 : 0;
    }

    @Arbiter
    public void after(III_Result r) {
        r.r3 = Rings.drainCode(ring);
        ring.close();
    }
}
