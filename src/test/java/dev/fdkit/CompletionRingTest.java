package dev.fdkit;

import dev.fdkit.KernelThreads.Waiter;
import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.fdkit.CompletionRingLayout.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * CompletionRing against real memory, eventfds, futexes and a second JVM: exactly-once in-order delivery
 * under one and four producers, back-pressure, the documented layout, and a doorbell that rings only on the
 * empty to non-empty transition.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: /dev/urandom (opened for @TempDir names) and other JVM-lifetime state are baseline
@ExtendWith(LeakGuard.class)
@Timeout(60)
class CompletionRingTest {
    private static final Duration LONG = Duration.ofSeconds(20);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
    // Header offsets as documented in CompletionRing's class comment (the contract a C peer codes against).
    private static final int TEN_MILLION = 10_000_000;

    @TempDir
    Path dir;

    // ------------------------------------------------------------------ exactly once, in order

    @Test
    void singleProducerDeliversTenMillionRecordsExactlyOnceInOrder() throws Exception {
        transfer("SPSC", 1, TEN_MILLION, 1 << 14);
    }

    @Test
    void fourProducersDeliverTenMillionRecordsExactlyOnceInOrderPerProducer() throws Exception {
        transfer("MPSC", 4, TEN_MILLION / 4, 1 << 14);
    }

    /**
     * {@code producers} threads each offer {@code perProducer} records {cookie=producer, obj=n, res=31n+producer,
     * res2=~n}; the test thread drains and checks every record against the next one expected from its producer.
     */
    private void transfer(String name, int producers, int perProducer, int capacity) throws Exception {
        try (CompletionRing ring = CompletionRing.allocate(capacity)) {
            InOrder checker = new InOrder(producers);
            AtomicReference<Throwable> producerFailure = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean(); // a failed consumer must not leave producers spinning on a full ring
            List<Thread> threads = new ArrayList<>();
            long start = System.nanoTime();
            for (int p = 0; p < producers; p++) {
                int producer = p;
                threads.add(Thread.ofPlatform().name("ring-producer-" + p).start(() -> {
                    try {
                        for (long n = 0; n < perProducer; n++) {
                            int spins = 0;
                            while (!ring.offer(producer, n, 31 * n + producer, ~n)) {
                                if (stop.get()) return;
                                if (++spins > 64) Thread.yield(); // two cores, five busy threads: let the consumer run
                                else Thread.onSpinWait();
                            }
                        }
                    } catch (Throwable t) {
                        producerFailure.set(t);
                    }
                }));
            }
            long total = (long) producers * perProducer;
            long deadline = start + TimeUnit.SECONDS.toNanos(40);
            int idle = 0;
            while (checker.count < total) {
                if (ring.drain(checker, 4096) > 0) {
                    idle = 0;
                    continue;
                }
                if (++idle > 64) {
                    Thread.yield();
                    if (System.nanoTime() > deadline || producerFailure.get() != null) break;
                } else {
                    Thread.onSpinWait();
                }
            }
            long elapsed = System.nanoTime() - start;
            stop.set(true);
            for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(10));
            assertThat(producerFailure.get()).isNull();
            assertThat(checker.firstError).isNull();
            assertThat(checker.count).isEqualTo(total);
            for (int p = 0; p < producers; p++) assertThat(checker.next[p]).as("records from producer %d", p).isEqualTo(perProducer);
            assertThat(ring.isEmpty()).isTrue();
            assertThat(ring.poll()).isNull();
            System.out.printf("CompletionRingTest %s: %,d records from %d producer(s), capacity %d, in %d ms = %.1f M records/s%n",
                    name, total, producers, capacity, TimeUnit.NANOSECONDS.toMillis(elapsed), total * 1e3 / elapsed);
        }
    }

    /** Checks that each producer's records arrive as 0, 1, 2, ... with the fields derived from n. Allocation-free. */
    static final class InOrder implements CompletionRing.Handler {
        final long[] next;
        long count;
        String firstError;

        InOrder(int producers) {
            next = new long[producers];
        }

        @Override
        public void onCompletion(long cookie, long obj, long res, long res2) {
            count++;
            if (cookie < 0 || cookie >= next.length) {
                fail("unknown producer " + cookie);
                return;
            }
            int p = (int) cookie;
            if (obj != next[p] || res != 31 * obj + p || res2 != ~obj) {
                fail("producer " + p + ": expected record " + next[p] + ", got obj=" + obj + " res=" + res + " res2=" + res2);
            }
            next[p] = obj + 1;
        }

        private void fail(String error) {
            if (firstError == null) firstError = error + " (after " + (count - 1) + " records)";
        }
    }

    // ------------------------------------------------------------------ back-pressure

    @Test
    void fullRingRefusesWithoutOverwritingAndAcceptsAgainAfterDrain() {
        try (CompletionRing ring = CompletionRing.allocate(8)) {
            for (int i = 0; i < 8; i++) assertThat(ring.offer(i, 10 + i, 20 + i, 30 + i)).as("offer %d", i).isTrue();
            for (int i = 0; i < 3; i++) assertThat(ring.offer(99, 99, 99, 99)).as("offer to a full ring").isFalse();
            assertThat(ring.size()).isEqualTo(8);
            List<Completion> got = new ArrayList<>();
            CompletionRing.Handler collect = (c, o, r, r2) -> got.add(new Completion(c, o, r, r2));
            assertThat(ring.drain(collect, 3)).isEqualTo(3);
            for (int i = 8; i < 11; i++) assertThat(ring.offer(i, 10 + i, 20 + i, 30 + i)).as("offer %d after drain", i).isTrue();
            assertThat(ring.offer(99, 99, 99, 99)).isFalse();
            assertThat(ring.drain(collect, 100)).isEqualTo(8);
            assertThat(got).hasSize(11);
            for (int i = 0; i < 11; i++) assertThat(got.get(i)).isEqualTo(new Completion(i, 10 + i, 20 + i, 30 + i));
            assertThat(ring.isEmpty()).isTrue();
            assertThat(ring.size()).isZero();
        }
    }

    @Test
    void aHandlerThatThrowsHasConsumedItsRecordAndTheRestStayForTheNextDrain() {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            for (int i = 0; i < 4; i++) assertThat(ring.offer(i, 0, 0, 0)).isTrue();
            List<Long> seen = new ArrayList<>();
            assertThatThrownBy(() -> ring.drain((c, o, r, r2) -> {
                seen.add(c);
                if (c == 1) throw new IllegalStateException("handler failed on " + c);
            }, 10)).isInstanceOf(IllegalStateException.class);
            assertThat(seen).containsExactly(0L, 1L);
            assertThat(ring.size()).as("records 0 and 1 are consumed, their slots free").isEqualTo(2);
            assertThat(ring.offer(4, 0, 0, 0)).isTrue();
            assertThat(ring.offer(5, 0, 0, 0)).isTrue();
            assertThat(ring.offer(6, 0, 0, 0)).as("full again").isFalse();
            assertThat(ring.drain((c, o, r, r2) -> seen.add(c), 10)).isEqualTo(4);
            assertThat(seen).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
        }
    }

    @Test
    void aSlotIsFreeAsSoonAsItsRecordIsReadEvenInTheMiddleOfADrain() {
        // One drain that keeps finding records: each handler call offers the next one. Far more records than
        // slots pass through a 4-slot ring that never holds more than one.
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            assertThat(ring.offer(0, 0, 0, 0)).isTrue();
            List<Long> seen = new ArrayList<>();
            int drained = ring.drain((c, o, r, r2) -> {
                seen.add(c);
                if (c < 19) assertThat(ring.offer(c + 1, 0, 0, 0)).as("offer %d during the drain", c + 1).isTrue();
            }, 100);
            assertThat(drained).isEqualTo(20);
            assertThat(seen).hasSize(20).first().isEqualTo(0L);
            assertThat(ring.isEmpty()).isTrue();
        }
    }

    @Test
    void pollReturnsRecordsInOrderThenNullWhenEmpty() {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            assertThat(ring.poll()).isNull();
            assertThat(ring.offer(1, 2, 3, 4)).isTrue();
            Completion extremes = new Completion(Long.MIN_VALUE, Long.MAX_VALUE, -1, 0);
            assertThat(ring.offer(extremes)).isTrue();
            assertThat(ring.size()).isEqualTo(2);
            assertThat(ring.poll()).isEqualTo(new Completion(1, 2, 3, 4));
            assertThat(ring.poll()).isEqualTo(extremes);
            assertThat(ring.poll()).isNull();
            assertThat(ring.drain((c, o, r, r2) -> {}, 10)).isZero();
        }
    }

    @Test
    void drainRejectsANullHandlerAndALimitBelowOne() {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            assertThatThrownBy(() -> ring.drain(null, 1)).isInstanceOf(NullPointerException.class).hasMessageContaining("handler");
            assertThatThrownBy(() -> ring.drain((c, o, r, r2) -> {}, 0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("limit");
        }
    }

    // ------------------------------------------------------------------ the doorbell

    @Test
    void doorbellRingsOncePerEmptyToNonEmptyTransitionAndNeverWhenNotArmed() throws IOException {
        try (CompletionRing ring = CompletionRing.allocate(1024)) {
            MemorySegment header = ring.memory();
            assertThat(eventfdCount(ring.fd())).isZero();
            for (int transition = 1; transition <= 5; transition++) {
                assertThat(ring.armDoorbell()).as("armed on an empty ring").isTrue();
                for (int i = 0; i < 100; i++) assertThat(ring.offer(i, i, i, i)).isTrue();
                // Counts accumulate in the eventfd because nobody reads it: one per transition.
                assertThat(eventfdCount(ring.fd())).as("eventfd count after transition %d", transition).isEqualTo(transition);
                assertThat(header.get(LE_INT, DOORBELL_OFFSET)).as("doorbell futex word").isEqualTo(transition);
                assertThat(header.get(LE_LONG, ARMED_OFFSET)).as("disarmed by the ring").isZero();
                assertThat(ring.drain((c, o, r, r2) -> {}, 1000)).isEqualTo(100);
            }
            // Steady state: the consumer does not arm, producers make no syscall.
            for (int round = 0; round < 100; round++) {
                for (int i = 0; i < 500; i++) assertThat(ring.offer(i, i, i, i)).isTrue();
                assertThat(ring.drain((c, o, r, r2) -> {}, 1000)).isEqualTo(500);
            }
            assertThat(eventfdCount(ring.fd())).isEqualTo(5);
            assertThat(header.get(LE_INT, DOORBELL_OFFSET)).isEqualTo(5);
        }
    }

    @Test
    void armingARingThatAlreadyHoldsRecordsReportsFalse() {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            assertThat(ring.offer(1, 1, 1, 1)).isTrue();
            assertThat(ring.armDoorbell()).isFalse();
            assertThat(ring.poll()).isNotNull();
            assertThat(ring.armDoorbell()).isTrue();
        }
    }

    @Test
    void armedRingBecomesReadableOnAPollerOnlyAfterAnOffer() {
        try (CompletionRing ring = CompletionRing.allocate(16); Poller poller = Poller.open()) {
            int[] ready = new int[1];
            Poller.Registration registration = poller.register(ring, Poller.READABLE, (r, events) -> ready[0]++);
            try {
                assertThat(ring.armDoorbell()).isTrue();
                assertThat(poller.poll(Duration.ZERO)).isZero();
                assertThat(ring.offer(1, 2, 3, 4)).isTrue();
                assertThat(poller.poll(Duration.ofSeconds(5))).isEqualTo(1);
                assertThat(ready[0]).isEqualTo(1);
            } finally {
                registration.cancel();
            }
        }
    }

    @Test
    void onCompletionsRunsOneHandlerPassPerBurstOnAPollerDrivenByTheTestThread() {
        try (CompletionRing ring = CompletionRing.allocate(256); Poller poller = Poller.open()) {
            InOrder checker = new InOrder(1);
            for (int n = 0; n < 10; n++) ring.offer(0, n, 31L * n, ~(long) n); // waiting before registration
            Poller.Registration registration = ring.onCompletions(poller, checker);
            try {
                assertThat(poller.poll(Duration.ofSeconds(5))).as("records waiting at registration are seen").isEqualTo(1);
                assertThat(checker.count).isEqualTo(10);
                long n = 10;
                for (int burst = 0; burst < 20; burst++) {
                    for (int i = 0; i < 100; i++, n++) assertThat(ring.offer(0, n, 31 * n, ~n)).isTrue();
                    assertThat(poller.poll(Duration.ofSeconds(5))).as("burst %d: one doorbell, one handler pass", burst).isEqualTo(1);
                    assertThat(checker.count).isEqualTo(n);
                    assertThat(poller.poll(Duration.ZERO)).as("nothing new: no readiness").isZero();
                }
                assertThat(checker.firstError).isNull();
                assertThat(eventfdCount(ring.fd())).as("the handler consumed every ring").isZero();
            } catch (IOException e) {
                throw new AssertionError(e);
            } finally {
                registration.cancel();
            }
        }
    }

    @Test
    void onCompletionsDeliversEverythingFromConcurrentProducers() throws Exception {
        int producers = 2;
        int perProducer = 200_000;
        try (CompletionRing ring = CompletionRing.allocate(512); Poller poller = Poller.open()) {
            InOrder checker = new InOrder(producers);
            int[] passes = new int[1];
            Poller.Registration registration = ring.onCompletions(poller, checker);
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            try {
                for (int p = 0; p < producers; p++) {
                    int producer = p;
                    threads.add(Thread.ofPlatform().name("ring-producer-" + p).start(() -> {
                        for (long n = 0; n < perProducer; n++) {
                            while (!ring.offer(producer, n, 31 * n + producer, ~n)) {
                                if (stop.get()) return;
                                Thread.yield();
                            }
                            if (n % 10_000 == 0) Thread.yield(); // let the ring run empty now and then: more transitions
                        }
                    }));
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (checker.count < (long) producers * perProducer && System.nanoTime() < deadline) {
                    passes[0] += poller.poll(Duration.ofMillis(100));
                }
                for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(10));
                assertThat(checker.firstError).isNull();
                assertThat(checker.count).isEqualTo((long) producers * perProducer);
                for (int p = 0; p < producers; p++) assertThat(checker.next[p]).isEqualTo(perProducer);
                assertThat(passes[0]).as("handler passes").isPositive();
            } finally {
                stop.set(true);
                registration.cancel();
                for (Thread t : threads) t.join();
            }
        }
    }

    @Test
    void armingRecordsWhichMappingArmedSoEachMappingHasItsOwnId() throws IOException {
        Path file = dir.resolve("ids.ring");
        try (CompletionRing first = CompletionRing.create(file, 8); CompletionRing second = CompletionRing.open(file)) {
            assertThat(first.armDoorbell()).isTrue();
            long firstId = first.memory().get(LE_LONG, ARMED_OFFSET);
            assertThat(second.armDoorbell()).isTrue();
            long secondId = second.memory().get(LE_LONG, ARMED_OFFSET);
            assertThat(firstId).as("neither idle (0) nor the futex doorbell (1)").isNotIn(0L, 1L);
            assertThat(secondId).isNotIn(0L, 1L, firstId);
        }
    }

    @Test
    void aProducerThroughAnotherMappingWakesAnOnCompletionsConsumer() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> "io_uring FUTEX: " + Linux.feature(Feature.IO_URING_FUTEX).cause());
        Path file = dir.resolve("two-objects.ring");
        try (CompletionRing consumer = CompletionRing.create(file, 8); CompletionRing producer = CompletionRing.open(file)) {
            BlockingQueue<Long> delivered = new LinkedBlockingQueue<>();
            Poller.Registration registration = consumer.onCompletions(Poller.shared(), (cookie, obj, res, res2) -> delivered.add(cookie));
            try {
                // Alternate: the other object's offer must not leave the doorbell disarmed for the consumer's own.
                for (long n = 0; n < 20; n++) {
                    CompletionRing through = n % 2 == 0 ? producer : consumer;
                    assertThat(through.offer(n, 0, 0, 0)).isTrue();
                    assertThat(delivered.poll(LONG.toSeconds(), TimeUnit.SECONDS)).as("record %d, offered through the %s", n,
                            through == producer ? "other object" : "consumer's own object").isEqualTo(n);
                }
            } finally {
                registration.cancel();
            }
        }
    }

    @Test
    void afterCloseEveryMethodThrowsIllegalStateExceptionNamingTheRingAndToStringSaysClosed() {
        CompletionRing ring = CompletionRing.allocate(4);
        ring.close();
        List<org.assertj.core.api.ThrowableAssert.ThrowingCallable> calls = List.of(
                () -> ring.offer(1, 1, 1, 1), () -> ring.offer(new Completion(1, 1, 1, 1)), ring::poll, ring::size, ring::isEmpty,
                () -> ring.drain((c, o, r, r2) -> {}, 1), ring::armDoorbell, () -> ring.awaitNonEmpty(Duration.ZERO), ring::fd,
                () -> ring.onCompletions(Poller.shared(), (c, o, r, r2) -> {}));
        for (var call : calls) {
            assertThatThrownBy(call).isInstanceOf(IllegalStateException.class).hasMessage("CompletionRing is closed");
        }
        assertThat(ring.toString()).isEqualTo("CompletionRing(capacity=4, closed)");
        assertThat(ring.capacity()).isEqualTo(4);
        ring.close(); // idempotent
    }

    @Test
    void closeWakesAConsumerInAwaitNonEmptyWhichThrowsAndThenFreesTheMemory() throws Exception {
        CompletionRing ring = CompletionRing.allocate(4);
        MemorySegment memory = ring.memory();
        Waiter<Boolean> consumer = Waiter.start("ring-consumer", () -> ring.awaitNonEmpty(LONG))
                .awaitSleepingIn(fdkit_h.SYS_futex(), memory.address() + DOORBELL_OFFSET);
        ring.close();
        assertThatThrownBy(() -> consumer.join(LONG)).hasRootCauseInstanceOf(IllegalStateException.class)
                .rootCause().hasMessage("CompletionRing is closed");
        assertThat(memory.scope().isAlive()).as("memory freed once the consumer left").isFalse();
        assertThatThrownBy(ring::fd).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void closeWakesAVirtualThreadConsumerWaitingThroughIoUring() throws Exception {
        CompletionRing ring = CompletionRing.allocate(4);
        MemorySegment memory = ring.memory();
        CompletableFuture<Object> outcome = new CompletableFuture<>();
        Thread consumer = Thread.ofVirtual().start(() -> {
            try {
                outcome.complete(ring.awaitNonEmpty(LONG));
            } catch (Throwable t) {
                outcome.complete(t);
            }
        });
        // Sleeping (in the kernel or parked in Java), or about to: close() must work at any of those points.
        while (consumer.getState() == Thread.State.RUNNABLE || consumer.getState() == Thread.State.NEW) Thread.onSpinWait();
        ring.close();
        assertThat(outcome.get(LONG.toSeconds(), TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class)
                .hasFieldOrPropertyWithValue("message", "CompletionRing is closed");
        assertThat(memory.scope().isAlive()).isFalse();
    }

    // ------------------------------------------------------------------ the futex doorbell (cross-process waiting)

    @Test
    void awaitNonEmptyTimesOutOnAnEmptyRing() {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            long start = System.nanoTime();
            assertThat(ring.awaitNonEmpty(Duration.ofMillis(50))).isFalse();
            assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(50));
            assertThat(ring.offer(1, 1, 1, 1)).isTrue();
            assertThat(ring.awaitNonEmpty(Duration.ZERO)).isTrue();
        }
    }

    @Test
    void awaitNonEmptyIsWokenByAnOfferOnAnotherThread() throws Exception {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            long doorbell = ring.memory().address() + DOORBELL_OFFSET;
            Waiter<Boolean> consumer = Waiter.start("ring-consumer", () -> ring.awaitNonEmpty(LONG))
                    .awaitSleepingIn(fdkit_h.SYS_futex(), doorbell);
            assertThat(ring.offer(7, 8, 9, 10)).isTrue();
            assertThat(consumer.join(LONG)).isTrue();
            assertThat(ring.poll()).isEqualTo(new Completion(7, 8, 9, 10));
        }
    }

    @Test
    void awaitNonEmptyWithAnEffectivelyEndlessTimeoutWaitsForTheOffer() throws Exception {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            long doorbell = ring.memory().address() + DOORBELL_OFFSET;
            for (Duration endless : new Duration[] {Duration.ofNanos(Long.MAX_VALUE), Duration.ofSeconds(Long.MAX_VALUE)}) {
                Waiter<Boolean> consumer = Waiter.start("ring-consumer", () -> ring.awaitNonEmpty(endless))
                        .awaitSleepingIn(fdkit_h.SYS_futex(), doorbell);
                assertThat(ring.offer(1, 2, 3, 4)).isTrue();
                assertThat(consumer.join(LONG)).as("awaitNonEmpty(%s)", endless).isTrue();
                assertThat(ring.poll()).isEqualTo(new Completion(1, 2, 3, 4));
            }
        }
    }

    @Test
    void awaitNonEmptyWithANegativeTimeoutOnlyLooks() {
        // fdkit's one rule for timeouts (README): negative means "do not wait", as Duration.ZERO.
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            assertThat(ring.awaitNonEmpty(Duration.ofMillis(-1))).isFalse();
            assertThat(ring.offer(1, 2, 3, 4)).isTrue();
            assertThat(ring.awaitNonEmpty(Duration.ofDays(-1))).isTrue();
            assertThatThrownBy(() -> ring.awaitNonEmpty(null)).isInstanceOf(NullPointerException.class).hasMessageContaining("timeout");
        }
    }

    // ------------------------------------------------------------------ layout

    @Test
    void headerHoldsMagicVersionCapacityAndRecordSizeAtTheDocumentedOffsets() throws IOException {
        Path file = dir.resolve("layout.ring");
        int capacity = 64;
        long sequences = sequenceOffset(capacity, 0);
        try (CompletionRing ring = CompletionRing.create(file, capacity)) {
            assertThat(Files.size(file)).isEqualTo(byteSize(capacity));
            assertThat(ring.capacity()).isEqualTo(capacity);
            assertThat(ring.offer(0x1122334455667788L, -2, -3, Long.MAX_VALUE)).isTrue();

            // Read through the file, not the mapping: what a C peer mapping it would see.
            ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(new String(bytes.array(), 0, 4, StandardCharsets.US_ASCII)).isEqualTo("FKDR");
            assertThat(bytes.getInt((int) MAGIC_OFFSET)).isEqualTo(MAGIC);
            assertThat(bytes.getInt((int) VERSION_OFFSET)).isEqualTo(VERSION);
            assertThat(bytes.getInt((int) CAPACITY_OFFSET)).isEqualTo(capacity);
            assertThat(bytes.getInt((int) RECORD_SIZE_OFFSET)).isEqualTo(RECORD_LENGTH);
            assertThat(bytes.getLong((int) TAIL_OFFSET)).as("tail").isEqualTo(1);
            assertThat(bytes.getLong((int) HEAD_OFFSET)).as("head").isZero();
            int record = (int) recordOffset(0);
            assertThat(bytes.getLong(record + (int) COOKIE_OFFSET)).as("cookie").isEqualTo(0x1122334455667788L);
            assertThat(bytes.get(record + (int) COOKIE_OFFSET)).as("little-endian: low byte first").isEqualTo((byte) 0x88);
            assertThat(bytes.getLong(record + (int) OBJ_OFFSET)).as("obj").isEqualTo(-2);
            assertThat(bytes.getLong(record + (int) RES_OFFSET)).as("res").isEqualTo(-3);
            assertThat(bytes.getLong(record + (int) RES2_OFFSET)).as("res2").isEqualTo(Long.MAX_VALUE);
            assertThat(bytes.getLong((int) sequences)).as("slot 0 published: sequence = position + 1").isEqualTo(1);
            for (int slot = 1; slot < capacity; slot++) {
                assertThat(bytes.getLong((int) (sequences + 8L * slot))).as("slot %d free: sequence = slot", slot).isEqualTo(slot);
            }

            assertThat(ring.poll()).isEqualTo(new Completion(0x1122334455667788L, -2, -3, Long.MAX_VALUE));
            MemorySegment memory = ring.memory();
            assertThat(memory.byteSize()).isEqualTo(byteSize(capacity));
            assertThat(memory.get(LE_LONG, HEAD_OFFSET)).as("head after one record").isEqualTo(1);
            assertThat(memory.get(LE_LONG, sequences)).as("the consumer never writes a sequence: head alone frees the slot").isEqualTo(1);
        }
    }

    /** The table C peers read in CompletionRing's class comment is the descriptor the code uses, row by row. */
    @Test
    void theLayoutTableInTheClassCommentIsTheDescriptor() throws IOException {
        Path project = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        String javadoc = Files.readString(project.resolve("src/main/java/dev/fdkit/CompletionRing.java"));
        Map<String, List<Long>> rows = new HashMap<>(); // the field's first word -> offset, size
        Matcher row = Pattern.compile("(?m)^ \\*\\s+(\\d+)\\s+(\\d+)\\s+([a-z]+)").matcher(javadoc);
        while (row.find()) rows.put(row.group(3), List.of(Long.parseLong(row.group(1)), Long.parseLong(row.group(2))));
        assertThat(rows).containsExactlyInAnyOrderEntriesOf(Map.of(
                "magic", List.of(MAGIC_OFFSET, 4L), "version", List.of(VERSION_OFFSET, 4L),
                "capacity", List.of(CAPACITY_OFFSET, 4L), "record", List.of(RECORD_SIZE_OFFSET, 4L),
                "next", List.of(NEXT_OFFSET, 8L), "generation", List.of(GENERATION_OFFSET, 4L),
                "tail", List.of(TAIL_OFFSET, 8L), "head", List.of(HEAD_OFFSET, 8L),
                "armed", List.of(ARMED_OFFSET, 8L), "doorbell", List.of(DOORBELL_OFFSET, 4L)));
        assertThat(javadoc).contains(" *      4      4  version = " + VERSION + "\n", " *     12      4  record size = " + RECORD_LENGTH + "\n",
                " *    " + HEADER_LENGTH + "  " + RECORD_LENGTH + "*capacity  records",
                " *    " + HEADER_LENGTH + "+" + RECORD_LENGTH + "*capacity   " + SEQUENCE_LENGTH + "*capacity  sequence per slot",
                "{@code " + HEADER_LENGTH + " + " + (RECORD_LENGTH + SEQUENCE_LENGTH) + " * capacity}");
        assertThat(byteSize(16)).isEqualTo(HEADER_LENGTH + (RECORD_LENGTH + SEQUENCE_LENGTH) * 16L);
    }

    @Test
    void producerAndConsumerIndicesAreTwoCacheLinesApartFromEachOtherAndFromTheDoorbell() {
        List<Long> hot = List.of(TAIL_OFFSET, HEAD_OFFSET, ARMED_OFFSET);
        for (long a : hot) {
            for (long b : hot) {
                // Not in one 128-byte block: the adjacent-line prefetcher moves such a pair of lines together.
                if (a != b) assertThat(a / 128).as("blocks of %d and %d", a, b).isNotEqualTo(b / 128);
            }
            assertThat(a / 128).as("%d shares no block with the read-only fields or the records", a).isNotIn(0L, (long) HEADER_LENGTH / 128);
        }
        assertThat(DOORBELL_OFFSET / 128).as("the doorbell word shares armed's block: both change when a producer rings").isEqualTo(ARMED_OFFSET / 128);
        assertThat(HEADER_LENGTH % 128).as("records start on a block").isZero();
    }

    @Test
    void allocatedRingHasTheSameLayoutAsAMappedOne() {
        try (CompletionRing ring = CompletionRing.allocate(16)) {
            MemorySegment memory = ring.memory();
            assertThat(memory.byteSize()).isEqualTo(byteSize(16));
            assertThat(memory.get(LE_INT, MAGIC_OFFSET)).isEqualTo(MAGIC);
            assertThat(memory.get(LE_INT, VERSION_OFFSET)).isEqualTo(VERSION);
            assertThat(memory.get(LE_INT, CAPACITY_OFFSET)).isEqualTo(16);
            assertThat(memory.get(LE_INT, RECORD_SIZE_OFFSET)).isEqualTo(RECORD_LENGTH);
            assertThat(memory.address() % 64).as("header cache lines aligned").isZero();
        }
    }

    @Test
    void twoMappingsOfOneFileAreOneRing() throws IOException {
        Path file = dir.resolve("shared.ring");
        try (CompletionRing producer = CompletionRing.create(file, 8); CompletionRing consumer = CompletionRing.open(file)) {
            assertThat(consumer.capacity()).isEqualTo(8);
            for (int i = 0; i < 8; i++) assertThat(producer.offer(i, i, i, i)).isTrue();
            assertThat(producer.offer(8, 8, 8, 8)).isFalse();
            for (int i = 0; i < 8; i++) assertThat(consumer.poll()).isEqualTo(new Completion(i, i, i, i));
            assertThat(consumer.poll()).isNull();
            assertThat(producer.offer(8, 8, 8, 8)).isTrue();
            assertThat(consumer.poll()).isEqualTo(new Completion(8, 8, 8, 8));
        }
    }

    @Test
    void openingAFileThatIsNotARingFailsWithIOException() throws IOException {
        assertThatThrownBy(() -> CompletionRing.open(dir.resolve("missing"))).isInstanceOf(NoSuchFileException.class);

        Path empty = Files.createFile(dir.resolve("empty"));
        assertThatThrownBy(() -> CompletionRing.open(empty)).isInstanceOf(IOException.class).hasMessageContaining("not a completion ring");

        Path zeros = Files.write(dir.resolve("zeros"), new byte[4096]);
        assertThatThrownBy(() -> CompletionRing.open(zeros)).isInstanceOf(IOException.class).hasMessageContaining("magic");

        Path text = Files.writeString(dir.resolve("text"), "not a ring ".repeat(100));
        assertThatThrownBy(() -> CompletionRing.open(text)).isInstanceOf(IOException.class).hasMessageContaining("magic");

        Path ring = dir.resolve("ring");
        CompletionRing.create(ring, 16).close();
        byte[] valid = Files.readAllBytes(ring);

        // Earlier versions put the indices and the doorbell elsewhere (see the class comment): not readable as this one.
        for (int older = 1; older < VERSION; older++) {
            Path wrongVersion = Files.write(dir.resolve("version-" + older), patchInt(valid, VERSION_OFFSET, older));
            assertThatThrownBy(() -> CompletionRing.open(wrongVersion)).isInstanceOf(IOException.class).hasMessageContaining("version " + older);
        }

        Path wrongCapacity = Files.write(dir.resolve("wrong-capacity"), patchInt(valid, CAPACITY_OFFSET, 3));
        assertThatThrownBy(() -> CompletionRing.open(wrongCapacity)).isInstanceOf(IOException.class).hasMessageContaining("capacity 3");

        Path wrongRecordSize = Files.write(dir.resolve("wrong-record-size"), patchInt(valid, RECORD_SIZE_OFFSET, 64));
        assertThatThrownBy(() -> CompletionRing.open(wrongRecordSize)).isInstanceOf(IOException.class).hasMessageContaining("record size 64");

        // Capacity 1 matching its file size: a Vyukov ring needs two slots at least (with one, a producer
        // finds a published slot's sequence equal to its own position and overwrites it), so create()
        // refuses it and open() must too.
        byte[] one = new byte[(int) byteSize(1)];
        ByteBuffer.wrap(one).order(ByteOrder.LITTLE_ENDIAN).putInt((int) MAGIC_OFFSET, MAGIC).putInt((int) VERSION_OFFSET, VERSION)
                .putInt((int) CAPACITY_OFFSET, 1).putInt((int) RECORD_SIZE_OFFSET, RECORD_LENGTH);
        Path capacityOne = Files.write(dir.resolve("capacity-one"), one);
        assertThatThrownBy(() -> CompletionRing.open(capacityOne)).isInstanceOf(IOException.class).hasMessageContaining("capacity 1");

        Path truncated = Files.write(dir.resolve("truncated"), java.util.Arrays.copyOf(valid, valid.length - 8));
        assertThatThrownBy(() -> CompletionRing.open(truncated)).isInstanceOf(IOException.class).hasMessageContaining("file size");

        try (CompletionRing reopened = CompletionRing.open(ring)) {
            assertThat(reopened.capacity()).isEqualTo(16);
        }
    }

    private static byte[] patchInt(byte[] bytes, long offset, int value) {
        byte[] copy = bytes.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt((int) offset, value);
        return copy;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 3, 6, 1000, -1, -8, Integer.MIN_VALUE, 1 << 27})
    void capacityThatIsNotAPowerOfTwoFromTwoTo2Pow26IsRejected(int capacity) {
        assertThatThrownBy(() -> CompletionRing.allocate(capacity)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("capacity").hasMessageContaining(Integer.toString(capacity));
        Path file = dir.resolve("bad.ring");
        assertThatThrownBy(() -> CompletionRing.create(file, capacity)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("capacity");
        assertThat(file).as("rejected before the file is created").doesNotExist();
    }

    // ------------------------------------------------------------------ two JVMs

    @Test
    void producerInAnotherJvmWakesAnOnCompletionsConsumer() throws Exception {
        assumeTrue(Linux.has(Feature.IO_URING_FUTEX), () -> "io_uring FUTEX: " + Linux.feature(Feature.IO_URING_FUTEX).cause());
        int count = 100_000;
        Path file = dir.resolve("peer-eventfd.ring");
        try (CompletionRing ring = CompletionRing.create(file, 1024)) {
            RingProducerPeer.InOrder check = new RingProducerPeer.InOrder();
            CountDownLatch all = new CountDownLatch(1);
            Poller.Registration registration = ring.onCompletions(Poller.shared(), (cookie, obj, res, res2) -> {
                check.onCompletion(cookie, obj, res, res2);
                if (check.next == count) all.countDown();
            });
            ChildJvm child = ChildJvm.start(RingProducerPeer.class, dir.resolve("ring-peer-eventfd.log"), file.toString(), Integer.toString(count), "30");
            try {
                assertThat(all.await(40, TimeUnit.SECONDS)).as("all records delivered; %d so far; output: %s", check.next, child.output()).isTrue();
                assertThat(check.error()).isNull();
                assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).as("child exited; output: %s", child.output()).isTrue();
                assertThat(child.process.exitValue()).as("child exit status; output: %s", child.output()).isZero();
            } finally {
                registration.cancel();
                child.destroy();
            }
        }
    }

    @Test
    void producerInAnotherJvmFeedsTheConsumerThroughAMappedFile() throws Exception {
        int count = 100_000;
        Path file = dir.resolve("peer.ring");
        try (CompletionRing ring = CompletionRing.create(file, 1024)) {
            ChildJvm child = ChildJvm.start(RingProducerPeer.class, dir.resolve("ring-peer.log"), file.toString(), Integer.toString(count), "30");
            try {
                RingProducerPeer.InOrder check = new RingProducerPeer.InOrder();
                long start = System.nanoTime();
                long deadline = start + TimeUnit.SECONDS.toNanos(40);
                int waitsThatTimedOut = 0;
                while (check.next < count) {
                    if (ring.awaitNonEmpty(Duration.ofSeconds(2))) {
                        ring.drain(check, 4096);
                    } else {
                        waitsThatTimedOut++;
                        assertThat(child.process.isAlive() || !ring.isEmpty()).as("producer alive; output: %s", child.output()).isTrue();
                    }
                    assertThat(System.nanoTime()).as("all records in time; %d so far; output: %s", check.next, child.output()).isLessThan(deadline);
                }
                long elapsed = System.nanoTime() - start;
                assertThat(check.error()).isNull();
                assertThat(check.next).isEqualTo(count);
                assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).as("child exited; output: %s", child.output()).isTrue();
                assertThat(child.process.exitValue()).as("child exit status; output: %s", child.output()).isZero();
                assertThat(ring.isEmpty()).isTrue();
                // The consumer waited before the child JVM had started: the child's first offer rang the futex.
                assertThat(ring.memory().get(LE_INT, DOORBELL_OFFSET)).as("futex doorbell rings from the other JVM").isPositive();
                System.out.printf("CompletionRingTest cross-JVM: %,d records in %d ms (JVM start included), %d doorbell rings, %d idle waits%n",
                        count, TimeUnit.NANOSECONDS.toMillis(elapsed), ring.memory().get(LE_INT, DOORBELL_OFFSET), waitsThatTimedOut);
            } finally {
                child.destroy();
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    /** The eventfd's counter as /proc/self/fdinfo shows it (hexadecimal), without reading (consuming) it. */
    static long eventfdCount(int fd) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            if (line.startsWith("eventfd-count:")) return Long.parseUnsignedLong(line.substring("eventfd-count:".length()).trim(), 16);
        }
        throw new AssertionError("fd " + fd + " is not an eventfd");
    }
}
