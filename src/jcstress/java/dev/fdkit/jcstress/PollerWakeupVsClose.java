package dev.fdkit.jcstress;

import dev.fdkit.Poller;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * wakeup() racing with close(): wakeup() on a closed poller is a no-op, so a wake-up that meets a close
 * must not fail either (an event loop's producers call wakeup() from any thread, also while it shuts down).
 * <p>
 * r1: wakeup() returned (0) or threw (1). r2: close() returned (0) or threw (1).
 */
@JCStressTest
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "both returned")
@Outcome(id = "1, 0", expect = FORBIDDEN, desc = "wakeup() threw: it signalled the eventfd close() had just closed")
@Outcome(expect = FORBIDDEN, desc = "close() threw")
@State
public class PollerWakeupVsClose {
    private final Poller poller = Poller.open();

    @Actor
    public void waker(II_Result r) {
        try {
            poller.wakeup();
        } catch (RuntimeException e) {
            r.r1 = 1;
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
