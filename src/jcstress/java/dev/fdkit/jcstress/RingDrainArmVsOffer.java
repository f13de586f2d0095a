package dev.fdkit.jcstress;

import dev.fdkit.CompletionRing;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The doorbell handshake: a consumer drains, finds the ring empty and arms the eventfd doorbell (as
 * onCompletions does before going back to sleep) while a producer offers. Either the consumer gets the
 * record, or its arming is refused because a producer has claimed a slot, or the producer sees the arming
 * and rings: a consumer that armed and went to sleep is never left with a record and a silent doorbell.
 * <p>
 * r1: records the consumer drained. r2: armDoorbell() returned true (1) or refused (0). r3: the doorbell
 * eventfd is readable afterwards (1). r4: records still in the ring afterwards.
 */
@JCStressTest
@Outcome(id = "1, 1, 0, 0", expect = ACCEPTABLE, desc = "the consumer got the record, then armed")
@Outcome(id = "0, 1, 1, 1", expect = ACCEPTABLE, desc = "armed before the offer: the producer rang")
@Outcome(id = "0, 0, 0, 1", expect = ACCEPTABLE, desc = "arming refused: the consumer saw the claim and drains again")
@Outcome(id = "0, 0, 1, 1", expect = ACCEPTABLE, desc = "arming refused and rung: each saw the other")
@Outcome(id = "0, 1, 0, 1", expect = FORBIDDEN, desc = "lost doorbell: armed, a record waiting, nothing rang")
@Outcome(expect = FORBIDDEN, desc = "a record lost, duplicated or torn, or a doorbell rung for nothing")
@State
public class RingDrainArmVsOffer {
    private final CompletionRing ring = Rings.wrapped();

    @Actor
    public void producer() {
        Rings.offer(ring, 1);
    }

    @Actor
    public void consumer(IIII_Result r) {
        r.r1 = Rings.drainCode(ring);
        r.r2 = ring.armDoorbell() ? 1 : 0;
    }

    @Arbiter
    public void after(IIII_Result r) {
        r.r3 = Kernel.isReadable(ring.fd()) ? 1 : 0;
        r.r4 = Rings.drainCode(ring);
        ring.close();
    }
}
