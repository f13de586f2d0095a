package dev.fdkit.reactor;

import dev.fdkit.Processes;
import dev.fdkit.DescriptorLimit;
import dev.fdkit.ErrnoException;
import dev.fdkit.ExitStatus;
import dev.fdkit.LeakGuard;
import dev.fdkit.Poller;
import dev.fdkit.ProcessDescriptor;
import dev.fdkit.SpawnOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.reactivestreams.Subscription;
import reactor.adapter.JdkFlowAdapter;
import reactor.core.publisher.BaseSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.SignalType;
import reactor.util.function.Tuple2;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** fdkit's pipe publishers inside Project Reactor, through {@code JdkFlowAdapter} (the README's glue). */
@ExtendWith(LeakGuard.class)
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class ReactorPipePublisherTest {
    private static final int CHUNK = 16 * 1024; // PipeReader's largest read

    /** {@code seq 1 n}: 100000 lines are ~590 KB, many pipe-fulls. */
    private static String seq(int n) {
        return IntStream.rangeClosed(1, n).mapToObj(Integer::toString).collect(Collectors.joining("\n", "", "\n"));
    }

    /** The README's "fdkit in Reactor" example, verbatim between the markers. */
    @Test
    void readmeExample() throws Exception {
        // README begin
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("seq", "1", "100000"))) {
            Mono<Long> bytes = JdkFlowAdapter.flowPublisherToFlux(child.stdoutPublisher())
                    .limitRate(4)                      // back-pressure reaches the pipe: no demand, no read
                    .map(ByteBuffer::remaining)
                    .reduce(0L, Long::sum);
            Mono<ExitStatus> exit = Mono.fromFuture(child.onExit());   // completed by the poller thread
            Tuple2<Long, ExitStatus> result = Mono.zip(bytes, exit).block(Duration.ofSeconds(10));
            // result: 588895 bytes, exited 0
            // README end
            assertThat(result.getT1()).isEqualTo(588895L);
            assertThat(result.getT2().success()).isTrue();
        }
    }

    @Test
    void limitRateBackPressureReachesThePipeAndTheChildBlocksInPipeWrite() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("seq", "1", "100000"), SpawnOption.KILL_ON_CLOSE)) {
            AtomicLong upstreamItems = new AtomicLong();
            Recorder downstream = new Recorder(1); // asks for one item, then nothing until told
            Flux<ByteBuffer> stdout = JdkFlowAdapter.flowPublisherToFlux(child.stdoutPublisher());
            stdout.doOnNext(b -> upstreamItems.incrementAndGet())
                    .limitRate(4)
                    .subscribe(downstream);

            // limitRate(4) asks for 4 upstream; once they are read no demand is left: nobody reads, the pipe
            // fills and the child sleeps in pipe_write.
            waitUntil(() -> upstreamItems.get() == 4 && wchan(child.pid()).contains("pipe_write"));
            assertThat(downstream.items()).isEqualTo(1);
            assertThat(upstreamItems.get()).as("limitRate(4) prefetches 4 reads, no more").isEqualTo(4);
            assertThat(downstream.bytes.size()).as("one item is one read").isLessThanOrEqualTo(CHUNK);
            assertThat(child.isAlive()).isTrue();

            downstream.requestUnbounded();
            assertThat(downstream.terminal.get(10, TimeUnit.SECONDS)).isEqualTo(SignalType.ON_COMPLETE);
            assertThat(downstream.bytes.toString(StandardCharsets.US_ASCII)).isEqualTo(seq(100000));
            assertThat(child.onExit().get(5, TimeUnit.SECONDS).success()).isTrue();
            assertThat(downstream.terminals).as("exactly one terminal signal").containsExactly(SignalType.ON_COMPLETE);
        }
    }

    @Test
    void takeCancelsOnThePollerThreadAndReleasesTheRegistrationAndItsDescriptor() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("seq", "1", "100000"), SpawnOption.KILL_ON_CLOSE)) {
            int registrations = Poller.shared().registrations();
            int descriptors = LeakGuard.openDescriptorCount();
            List<ByteBuffer> first = JdkFlowAdapter.flowPublisherToFlux(child.stdoutPublisher())
                    .take(3)
                    .collectList()
                    .block(Duration.ofSeconds(10));
            assertThat(first).hasSize(3);
            assertThat(Poller.shared().registrations()).as("registrations after cancel").isEqualTo(registrations);
            assertThat(LeakGuard.openDescriptorCount()).as("descriptors after cancel").isEqualTo(descriptors);
        }
    }

    @Test
    void disposeFromAnotherThreadReleasesAnArmedRegistration() throws Exception {
        // cat writes nothing until its stdin does: the subscription stays armed, waiting for readiness
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("cat"), SpawnOption.KILL_ON_CLOSE)) {
            int registrations = Poller.shared().registrations();
            int descriptors = LeakGuard.openDescriptorCount();
            Recorder subscriber = new Recorder(Long.MAX_VALUE);
            JdkFlowAdapter.flowPublisherToFlux(child.stdoutPublisher()).subscribe(subscriber);
            assertThat(Poller.shared().registrations()).as("armed for the demand").isEqualTo(registrations + 1);
            subscriber.dispose();
            assertThat(Poller.shared().registrations()).as("registrations after dispose").isEqualTo(registrations);
            assertThat(LeakGuard.openDescriptorCount()).as("descriptors after dispose").isEqualTo(descriptors);
            assertThat(subscriber.terminals).as("a cancelled subscriber is not signalled").isEmpty();
        }
    }

    @Test
    void aFailedSyscallArrivesAsOnErrorWithTheErrnoException() throws Exception {
        try (ProcessDescriptor child = ProcessDescriptor.start(new ProcessBuilder("echo", "x"), SpawnOption.KILL_ON_CLOSE)) {
            Recorder subscriber = new Recorder(0);
            JdkFlowAdapter.flowPublisherToFlux(child.stdoutPublisher()).subscribe(subscriber);
            // The first request arms the poller on a duplicate of the pipe: with no descriptor free, F_DUPFD fails.
            new ErrnoException("warm-up", "", 1).errnoName(); // see the report: a first errno name looked up at EMFILE fails for good
            try (DescriptorLimit ignored = DescriptorLimit.exhaust()) {
                subscriber.request(1);
            }
            assertThat(subscriber.terminal.get(5, TimeUnit.SECONDS)).isEqualTo(SignalType.ON_ERROR);
            assertThat(subscriber.error).isInstanceOf(ErrnoException.class);
            ErrnoException e = (ErrnoException) subscriber.error;
            assertThat(e.syscall()).isEqualTo("fcntl");
            assertThat(e.errnoName()).isEqualTo("EMFILE");
            subscriber.request(1); // nothing after the terminal signal (rule 1.7)
            assertThat(subscriber.terminals).as("exactly one terminal signal").containsExactly(SignalType.ON_ERROR);
            assertThat(subscriber.items()).isZero();
        }
    }

    /** Records what Reactor delivers: items, bytes and terminal signals, asking for {@code initial} items first. */
    private static final class Recorder extends BaseSubscriber<ByteBuffer> {
        private final long initial;
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final List<SignalType> terminals = new CopyOnWriteArrayList<>();
        final CompletableFuture<SignalType> terminal = new CompletableFuture<>();
        private final AtomicLong items = new AtomicLong();
        volatile Throwable error;

        Recorder(long initial) {
            this.initial = initial;
        }

        long items() {
            return items.get();
        }

        @Override
        protected void hookOnSubscribe(Subscription subscription) {
            if (initial > 0) request(initial);
        }

        @Override
        protected void hookOnNext(ByteBuffer value) {
            synchronized (bytes) {
                bytes.write(value.array(), value.arrayOffset() + value.position(), value.remaining());
            }
            items.incrementAndGet();
        }

        @Override
        protected void hookOnComplete() {
            terminals.add(SignalType.ON_COMPLETE);
            terminal.complete(SignalType.ON_COMPLETE);
        }

        @Override
        protected void hookOnError(Throwable throwable) {
            error = throwable;
            terminals.add(SignalType.ON_ERROR);
            terminal.complete(SignalType.ON_ERROR);
        }
    }

    /** The kernel function the process sleeps in ("anon_pipe_write" on 6.x, "pipe_write" before), or "". */
    private static String wchan(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/wchan"));
        } catch (NoSuchFileException e) {
            return "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Polls observable state (a /proc file) for up to 5 s. */
    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        if (!Processes.awaitCondition(Duration.ofSeconds(5), condition)) throw new AssertionError("condition not reached within 5 s");
    }
}
