package dev.fdkit;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** fdkit's JFR events, recorded by a RecordingStream in this JVM, with the fields a user reads. */
@ExtendWith(LeakGuard.class)
@Timeout(60)
class FlightRecorderEventsTest {
    private static final List<String> EVENTS = List.of("dev.fdkit.ProcessSpawned", "dev.fdkit.ProcessExited", "dev.fdkit.PollerStall",
            "dev.fdkit.RingFull", "dev.fdkit.UringCqOverflow");

    private static final BlockingQueue<RecordedEvent> recorded = new LinkedBlockingQueue<>();
    private static RecordingStream stream;

    /** One recording for the class: starting one costs about a second. */
    @BeforeAll
    static void record() throws InterruptedException {
        stream = new RecordingStream();
        for (String name : EVENTS) {
            stream.enable(name).withThreshold(Duration.ZERO);
            stream.onEvent(name, recorded::add);
        }
        CountDownLatch started = new CountDownLatch(1);
        stream.onFlush(started::countDown);
        stream.setMaxAge(Duration.ofSeconds(30));
        stream.startAsync();
        assertThat(started.await(20, TimeUnit.SECONDS)).as("recording started").isTrue();
    }

    @AfterAll
    static void stop() {
        stream.close();
    }

    @Test
    void theProbeSaysWhetherTheEventsCanBeRecorded() throws Exception {
        assertThat(Linux.feature(Feature.JFR_EVENTS).available()).as("this JVM records them (the tests below)").isTrue();
        ScenarioJvm.Result without = ScenarioJvm.run(JfrFeatureScenario.class, java.time.Duration.ofSeconds(30), java.util.List.of("-XX:-FlightRecorder"));
        assertThat(without.value("available")).isEqualTo("false");
        assertThat(without.value("cause")).contains("without Flight Recorder");
    }

    /** The first event object loads Flight Recorder's metadata (0.1–0.2 s): with no recorder, fdkit creates none. */
    @Test
    void withNoRecorderASpawnAnExitAndAHandlerLoadNoFlightRecorderMetadata() throws Exception {
        ScenarioJvm.Result idle = ScenarioJvm.run(JfrIdleScenario.class, java.time.Duration.ofSeconds(30), java.util.List.of("-Xlog:class+load"));
        assertThat(idle.value("status")).isEqualTo("exited 0");
        assertThat(idle.value("handled")).isEqualTo("5");
        assertThat(idle.output()).contains("dev.fdkit.ExitWatch ").doesNotContain("jdk.jfr.internal.MetadataLoader").doesNotContain("dev.fdkit.FdkitEvents$");
    }

    @Test
    void aSpawnAndItsExitAreRecordedWithCommandPidStatusAndLatency() throws Exception {
        long pid;
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "exit 3"))) {
            pid = p.pid();
            assertThat(p.waitFor().code()).isEqualTo(3);
        }
        RecordedEvent spawned = next("dev.fdkit.ProcessSpawned", pid);
        assertThat(spawned.getString("command")).isEqualTo("sh -c exit 3");
        assertThat(spawned.getDuration()).isPositive();
        RecordedEvent exited = next("dev.fdkit.ProcessExited", pid);
        assertThat(exited.getInt("exitCode")).isEqualTo(3);
        assertThat(exited.getString("status")).isEqualTo("exited 3");
        assertThat(exited.getDuration("notificationLatency")).isPositive().isLessThan(Duration.ofSeconds(10));
    }

    @Test
    void aHandlerOverTheThresholdIsRecordedAsAPollerStallNamingItsRegistration() throws Exception {
        try (EventFd e = EventFd.open()) {
            CompletableFuture<Void> ran = new CompletableFuture<>();
            Poller.Registration r = Poller.shared().register(e, Poller.READABLE, (reg, events) -> {
                e.tryReadValue();
                ran.complete(null);
            });
            e.signal(1);
            ran.get(10, TimeUnit.SECONDS);
            r.cancel();
            RecordedEvent stall = next("dev.fdkit.PollerStall", -1);
            assertThat(stall.getString("registration")).contains("EventFd");
        }
    }

    @Test
    void aFullRingRefusingAnOfferIsRecordedWithItsCapacity() throws Exception {
        try (CompletionRing ring = CompletionRing.allocate(2)) {
            assertThat(ring.offer(1, 0, 0, 0)).isTrue();
            assertThat(ring.offer(2, 0, 0, 0)).isTrue();
            assertThat(ring.offer(3, 0, 0, 0)).isFalse();
            assertThat(next("dev.fdkit.RingFull", -1).getInt("capacity")).isEqualTo(2);
        }
    }

    @Test
    void completionsThatOverflowTheCqAreRecordedWhenFlushed() throws Exception {
        try (Poller undriven = Poller.open(); Uring tiny = Uring.open(2, 2, undriven)) {
            for (int i = 0; i < 16; i++) tiny.submit(new Uring.Nop(100 + i));
            tiny.reap();
            RecordedEvent overflow = next("dev.fdkit.UringCqOverflow", -1);
            assertThat(overflow.getInt("cqEntries")).isEqualTo(2);
            assertThat(overflow.getInt("flushes")).isPositive();
        }
    }

    /** The next recorded event of that name (for {@code pid}, when not -1); JFR delivers at its next flush. */
    private static RecordedEvent next(String name, long pid) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (;;) {
            RecordedEvent e = recorded.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            assertThat(e).as("a %s event within 30 s", name).isNotNull();
            if (e.getEventType().getName().equals(name) && (pid == -1 || e.getLong("pid") == pid)) return e;
        }
    }
}
