package dev.fdkit.netty;

import dev.fdkit.ScenarioJvm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * fdkit driven by a Netty 4.2 epoll event loop through {@link FdkitIoHandle} (the README's glue): a process exit
 * and an eventfd wake-up are handled on the loop's thread, and fdkit starts no thread of its own. In a fresh JVM,
 * since the shared poller is one per JVM.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class NettyHostTest {
    @Test
    void processExitsAndEventFdWakeUpsRunOnTheNettyEventLoopAndNoFdkitThreadStarts() throws Exception {
        ScenarioJvm.Result r = ScenarioJvm.run(NettyHostScenario.class, Duration.ofSeconds(60), List.of());
        assertThat(r.exitCode()).as(r.output()).isZero();
        String loop = r.value("loop.thread");
        assertThat(loop).as("a Netty event-loop thread").startsWith("multiThreadIoEventLoopGroup");
        assertThat(r.value("exit")).isEqualTo(loop + " exited 3");
        assertThat(r.value("eventfd")).isEqualTo(loop + " 42");
        assertThat(r.value("fdkit.threads")).as("no fdkit-poller (nor any fdkit) thread while Netty drives fdkit").isEmpty();
        // waitFor() on the loop thread itself: the loop is handed to an fdkit-poller thread, no dead-lock
        assertThat(r.value("handoff.threads")).isEqualTo("fdkit-poller");
        assertThat(r.value("handoff.status")).isEqualTo("exited 4");
        assertThat(r.value("hosting.valid")).isEqualTo("true");
    }
}
