package dev.fdkit.jcstress;

import dev.fdkit.internal.Fd;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

import java.util.concurrent.atomic.AtomicInteger;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Two threads close one Fd: exactly one close() returns true, the close hook runs once (before close(2))
 * and the descriptor ends up closed. A second close(2) would fail with EBADF, which Fd turns into an
 * IllegalStateException (reported as an error), or close another state's descriptor that reused the
 * number, which that state would see as an early hang-up. The Fd holds the write end of a pipe, so the
 * read end tells whether close(2) has run (see {@link Kernel.Pipe}).
 * <p>
 * r1, r2: what each close() returned. r3: close(2) has run at the end (1). r4: hook runs before close(2),
 * plus 10 for each after it.
 */
@JCStressTest
@Outcome(id = {"1, 0, 1, 1", "0, 1, 1, 1"}, expect = ACCEPTABLE, desc = "one close won, closed once")
@Outcome(expect = FORBIDDEN, desc = "no winner or two, not closed, or the hook not run exactly once while open")
@State
public class FdCloseVsClose {
    private final Kernel.Pipe pipe = Kernel.Pipe.open();
    private final Fd fd = new Fd(pipe.writeEnd(), "jcstress");
    private final AtomicInteger hookRuns = new AtomicInteger();

    public FdCloseVsClose() {
        fd.addCloseHook(() -> hookRuns.addAndGet(pipe.writeEndClosed() ? 10 : 1));
    }

    @Actor
    public void first(IIII_Result r) {
        r.r1 = fd.close() ? 1 : 0;
    }

    @Actor
    public void second(IIII_Result r) {
        r.r2 = fd.close() ? 1 : 0;
    }

    @Arbiter
    public void after(IIII_Result r) {
        r.r3 = pipe.writeEndClosed() ? 1 : 0;
        r.r4 = hookRuns.get();
        pipe.closeReadEnd();
    }
}
