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
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

/**
 * Fd's use count against close(): a use either is refused or runs on the still-open descriptor; close(2)
 * runs after the last use (on the user's thread when close came during the use); the close hook runs once,
 * while the descriptor is still open; once a user has seen the Fd closed, its acquire fails. The Fd holds
 * the write end of a pipe, so the read end tells whether close(2) has run (see {@link Kernel.Pipe}).
 * <p>
 * r1: close() returned true (1). r2, the user: 0 refused after seeing it closed, 1 refused, 2 used it before
 * close, 3 used it while close was pending (close(2) deferred to its release), 4 acquired after seeing it
 * closed, 5 used it after close(2). r3: close(2) has run at the end (1). r4: hook runs before close(2), plus
 * 10 for each after it.
 */
@JCStressTest
@Outcome(id = "1, 0, 1, 1", expect = ACCEPTABLE, desc = "the user saw it closed and did not try")
@Outcome(id = "1, 1, 1, 1", expect = ACCEPTABLE, desc = "close came first: the use was refused")
@Outcome(id = "1, 2, 1, 1", expect = ACCEPTABLE, desc = "the use ended before close")
@Outcome(id = "1, 3, 1, 1", expect = ACCEPTABLE_INTERESTING, desc = "close during the use: close(2) deferred to the release")
@Outcome(expect = FORBIDDEN, desc = "close not exactly once, a use after close(2), an acquire after close was seen, or a hook not run exactly once while open")
@State
public class FdCloseVsUse {
    private final Kernel.Pipe pipe = Kernel.Pipe.open();
    private final Fd fd = new Fd(pipe.writeEnd(), "jcstress");
    private final AtomicInteger hookRuns = new AtomicInteger();

    public FdCloseVsUse() {
        fd.addCloseHook(() -> hookRuns.addAndGet(pipe.writeEndClosed() ? 10 : 1));
    }

    @Actor
    public void closer(IIII_Result r) {
        r.r1 = fd.close() ? 1 : 0;
    }

    @Actor
    public void user(IIII_Result r) {
        boolean sawClosed = fd.isClosed();
        int n = fd.tryAcquire();
        if (n < 0) {
            r.r2 = sawClosed ? 0 : 1;
            return;
        }
        try {
            if (sawClosed) r.r2 = 4;
            else if (pipe.writeEndClosed()) r.r2 = 5;
            else r.r2 = fd.isClosed() ? 3 : 2;
        } finally {
            fd.release();
        }
    }

    @Arbiter
    public void after(IIII_Result r) {
        r.r3 = pipe.writeEndClosed() ? 1 : 0;
        r.r4 = hookRuns.get();
        pipe.closeReadEnd();
    }
}
