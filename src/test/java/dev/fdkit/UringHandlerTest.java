package dev.fdkit;

import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Uring.submitWith, the handler path, against the real kernel: cookies, uniqueness, cancel, growth, close. */
@ExtendWith(LeakGuard.class)
@Timeout(60)
class UringHandlerTest {
    private static final Duration HOUR = Duration.ofHours(1);

    /** Every completion by cookie: res (flags are 0 for these one-shot ops). */
    private static final class Results implements Uring.CompletionHandler {
        final Map<Long, Integer> res = new ConcurrentHashMap<>();
        final Map<Long, Integer> calls = new ConcurrentHashMap<>();

        @Override
        public void onCompletion(long cookie, int r, int flags) {
            res.put(cookie, r);
            calls.merge(cookie, 1, Integer::sum);
        }

        void awaitAll(Uring uring, int count) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (res.size() < count) {
                if (uring.reap() == 0 && System.nanoTime() > deadline) throw new AssertionError("only " + res.size() + " of " + count + " completions");
            }
        }
    }

    private static Uring open(Poller poller) {
        assumeTrue(Linux.has(Feature.IO_URING), () -> "io_uring: " + Linux.feature(Feature.IO_URING).cause());
        return Uring.open(4, poller);
    }

    @Test
    void reportsEachCookieExactlyAndRefusesOneInFlight() {
        try (Poller poller = Poller.open(); Uring uring = open(poller)) {
            Results results = new Results();
            uring.submitWith(new Uring.Timeout(HOUR, Long.MAX_VALUE), results);
            assertThatThrownBy(() -> uring.submitWith(new Uring.Nop(Long.MAX_VALUE), results))
                    .isInstanceOf(IllegalArgumentException.class).hasMessage("cookie " + Long.MAX_VALUE + " is already in flight");
            assertThatThrownBy(() -> uring.submitWith(new Uring.Nop(Long.MIN_VALUE), results)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("reserved");
            uring.submitWith(new Uring.Nop(0), results);
            uring.submitWith(new Uring.Nop(-7), results);
            uring.submitWith(new Uring.Cancel(Long.MAX_VALUE, 5), results);
            uring.submitWith(new Uring.Cancel(12345, 6), results); // not in flight
            results.awaitAll(uring, 5);
            assertThat(results.res).containsExactlyInAnyOrderEntriesOf(Map.of(Long.MAX_VALUE, -fdkit_h.ECANCELED(), 0L, 0, -7L, 0,
                    5L, 0, 6L, -fdkit_h.ENOENT()));
            assertThat(results.calls.values()).containsOnly(1);
            assertThat(uring.inFlight()).isZero();
            uring.submitWith(new Uring.Nop(Long.MAX_VALUE), results); // free again once its last completion came
            results.res.clear();
            results.awaitAll(uring, 1);
            assertThat(results.res).containsEntry(Long.MAX_VALUE, 0);
        }
    }

    @Test
    void growsPastItsSlotsAndCancelsByCookie() {
        try (Poller poller = Poller.open(); Uring uring = open(poller)) {
            Results results = new Results();
            int n = 100; // 4 SQ entries, 4 slots to start with
            for (int i = 0; i < n; i++) uring.submitWith(new Uring.Timeout(HOUR, i), results);
            assertThat(uring.inFlight()).isEqualTo(n);
            for (int i = 0; i < n; i++) uring.submitWith(new Uring.Cancel(i, 1000 + i), results);
            results.awaitAll(uring, 2 * n);
            for (long i = 0; i < n; i++) {
                assertThat(results.res).containsEntry(i, -fdkit_h.ECANCELED()).containsEntry(1000 + i, 0);
            }
            assertThat(uring.inFlight()).isZero();
        }
    }

    @Test
    void closeCallsEachWaitingHandlerOnceWithEcanceled() {
        Results results = new Results();
        Uring uring;
        try (Poller poller = Poller.open(); Uring u = open(poller)) {
            uring = u;
            for (int i = 0; i < 10; i++) uring.submitWith(new Uring.Timeout(HOUR, i), results);
        }
        assertThat(results.res).hasSize(10).allSatisfy((cookie, res) -> assertThat(res).isEqualTo(-fdkit_h.ECANCELED()));
        assertThat(results.calls.values()).containsOnly(1);
        assertThat(uring.inFlight()).isZero();
        assertThatThrownBy(() -> uring.submitWith(new Uring.Nop(1), results)).isInstanceOf(IllegalStateException.class).hasMessage("Uring is closed");
    }

    @Test
    void closingTheTargetCancelsItsOperation() throws Exception {
        try (Poller poller = Poller.open(); Uring uring = open(poller)) {
            Results results = new Results();
            EventFd eventFd = EventFd.open();
            uring.submitWith(new Uring.PollAdd(eventFd, Poller.READABLE, false, 9), results);
            eventFd.close();
            results.awaitAll(uring, 1);
            assertThat(results.res).containsEntry(9L, -fdkit_h.ECANCELED());
            assertThatThrownBy(() -> uring.submitWith(new Uring.PollAdd(eventFd, Poller.READABLE, false, 10), results)).isInstanceOf(IllegalStateException.class);
            assertThat(uring.inFlight()).isZero();
        }
    }
}
