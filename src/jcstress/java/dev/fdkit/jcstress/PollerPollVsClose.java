package dev.fdkit.jcstress;

import dev.fdkit.Poller;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import java.time.Duration;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * close() while another thread polls: the poll returns promptly (close wakes it; it never sits out its
 * timeout) with 0, whether it started before, during or after close; neither call throws.
 * <p>
 * r1: the poll returned 0 within half its timeout (0), returned late (1), returned handlers run (2), or
 * threw (3). r2: close() returned (0) or threw (1).
 */
@JCStressTest
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "the poll returned promptly, close() completed")
@Outcome(id = "1, 0", expect = FORBIDDEN, desc = "the poll sat out its timeout: close() did not wake it")
@Outcome(expect = FORBIDDEN, desc = "a call threw, or the poll ran a handler")
@State
public class PollerPollVsClose {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final Poller poller = Poller.open();

    @Actor
    public void poller(II_Result r) {
        long start = System.nanoTime();
        try {
            int handled = poller.poll(TIMEOUT);
            r.r1 = handled != 0 ? 2 : System.nanoTime() - start < TIMEOUT.toNanos() / 2 ? 0 : 1;
        } catch (RuntimeException e) {
            r.r1 = 3;
        }
    }

    @Actor
    public void closer(II_Result r) {
        try {
            poller.close();
        } catch (RuntimeException e) {
            r.r2 = 1;
        }
    }
}
