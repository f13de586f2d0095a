package dev.fdkit.jcstress;

import dev.fdkit.CompletionRing;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import java.time.Duration;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * The futex doorbell: a consumer in awaitNonEmpty (arming the futex word, then sleeping on it) while a
 * producer offers. The wait returns true promptly, whether the record came before it armed, between arming
 * and sleeping, or during the sleep: a lost doorbell would leave it asleep until its timeout.
 * <p>
 * r1: awaitNonEmpty returned true within half its timeout (1), true late (2: woken by the timeout, not the
 * doorbell), or false (0). r2: records drained afterwards.
 */
@JCStressTest
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "woken promptly, the record there")
@Outcome(id = "2, 1", expect = FORBIDDEN, desc = "lost doorbell: the wait sat out its timeout")
@Outcome(expect = FORBIDDEN, desc = "the wait gave up, or a record lost, duplicated or torn")
@State
public class RingAwaitVsOffer {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final CompletionRing ring = Rings.wrapped();

    @Actor
    public void producer() {
        Rings.offer(ring, 1);
    }

    @Actor
    public void consumer(II_Result r) {
        long start = System.nanoTime();
        boolean nonEmpty = ring.awaitNonEmpty(TIMEOUT);
        r.r1 = !nonEmpty ? 0 : System.nanoTime() - start < TIMEOUT.toNanos() / 2 ? 1 : 2;
    }

    @Arbiter
    public void after(II_Result r) {
        r.r2 = Rings.drainCode(ring);
        ring.close();
    }
}
