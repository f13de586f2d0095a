package dev.fdkit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * io_uring switched off for a whole JVM with {@code -Dfdkit.disable} (read once, by the feature probe), so
 * in a child JVM: the probe says so and why, Uring refuses with that cause, and virtual-thread futex waits
 * fall back to futex(2).
 */
@ExtendWith(LeakGuard.class)
@Timeout(60)
class UringFallbackTest {
    private static ScenarioJvm.Result child;

    @BeforeAll
    static void runChildWithIoUringDisabled() throws Exception {
        child = ScenarioJvm.runScenario(Duration.ofSeconds(40),
                List.of("-Dfdkit.disable=io_uring,io_uring_futex,io_uring_waitid",
                        "-Djdk.virtualThreadScheduler.parallelism=2", "-Djdk.virtualThreadScheduler.maxPoolSize=2"),
                "fallback");
        assertThat(child.exitCode()).as("child exit code; output:%n%s", child.output()).isZero();
    }

    @Test
    void theProbeReportsIoUringUnavailableWithTheDisablePropertyAsCause() {
        assertThat(child.value("fallback.io_uring.available")).isEqualTo("false");
        assertThat(child.value("fallback.io_uring.cause")).contains("fdkit.disable");
        assertThat(child.value("fallback.io_uring_futex.available")).isEqualTo("false");
        assertThat(child.value("fallback.io_uring_waitid.available")).isEqualTo("false");
    }

    @Test
    void openingAUringThrowsUnsupportedOperationExceptionCarryingTheCause() {
        String cause = child.value("fallback.io_uring.cause");
        assertThat(child.value("fallback.open")).startsWith(UnsupportedOperationException.class.getName() + ": ").contains(cause);
    }

    @Test
    void theSharedUringThrowsUnsupportedOperationExceptionEveryTime() {
        String expected = UnsupportedOperationException.class.getName() + ": ";
        assertThat(child.value("fallback.shared")).startsWith(expected).contains(child.value("fallback.io_uring.cause"));
        assertThat(child.value("fallback.sharedAgain")).startsWith(expected);
    }

    @Test
    void virtualThreadFutexWaitsStillCompleteThroughTheBlockingPath() {
        assertThat(child.value("futex.viaUring")).isEqualTo("false");
        assertThat(child.number("futex.finished")).isEqualTo(8);
        assertThat(child.number("futex.failures")).isZero();
        assertThat(child.number("futex.alive")).isZero();
        assertThat(child.number("io_uring.descriptors")).as("no ring was ever opened").isZero();
    }
}
