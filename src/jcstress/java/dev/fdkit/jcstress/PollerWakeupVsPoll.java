package dev.fdkit.jcstress;

import dev.fdkit.Poller;
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
 * wakeup() while a poll consumes an earlier wake-up: the wake-up flag and the wake-up eventfd must stay in
 * step, or a later wakeup() is lost. The state starts with a wake-up pending; the poller consumes it
 * while another thread calls wakeup(). Afterwards one more wakeup() must make the poller ready: its epoll
 * descriptor readable, so the next poll returns at once (with the flag set but the eventfd read, every
 * later wakeup() is a no-op and a poll without a timeout never returns). The window is a few instructions
 * wide: before the fix jcstress hit it a few times in 10^5 samples, the in-process quick pass of
 * {@code mvn verify} (whose actors start less evenly) about once in 100 rounds.
 * <p>
 * r1: the poll returned within its bound (1; it has a wake-up pending from the start, so it never waits).
 * r2: after one more wakeup() the poller is ready (1) or the wake-up was lost (0).
 */
@JCStressTest
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "the poll was woken and a later wakeup() still wakes the poller")
@Outcome(id = "1, 0", expect = FORBIDDEN, desc = "lost wake-up: wakeup() is a no-op from now on, poll() would hang")
@Outcome(expect = FORBIDDEN, desc = "the poll did not return promptly")
@State
public class PollerWakeupVsPoll {
    private static final Duration BOUND = Duration.ofSeconds(5);

    private final Poller poller = Poller.open();

    public PollerWakeupVsPoll() {
        poller.wakeup();
    }

    @Actor
    public void waker() {
        poller.wakeup();
    }

    @Actor
    public void poller(II_Result r) {
        long start = System.nanoTime();
        poller.poll(BOUND);
        r.r1 = System.nanoTime() - start < BOUND.toNanos() ? 1 : 0;
    }

    @Arbiter
    public void after(II_Result r) {
        poller.wakeup();
        r.r2 = Kernel.isReadable(poller.fd()) ? 1 : 0;
        poller.close();
    }
}
