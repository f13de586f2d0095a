package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static dev.fdkit.CompletionRingLayout.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * CompletionRing.grow: a larger segment replaces the ring's while producers run — threads of this JVM and
 * a producer JVM writing through the file — and every record arrives once, in each producer's order, through
 * the same doorbell (eventfd, Poller registration, futex word).
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime state (the shared Uring, /dev/urandom) is baseline
@ExtendWith(LeakGuard.class)
@Timeout(90)
class CompletionRingGrowTest {
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    // ------------------------------------------------------------------ what a grow keeps and where records go

    @Test
    void recordsOfferedBeforeAGrowAreDrainedFirstAndLaterOffersFillTheLargerSegment() throws IOException {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            int fd = ring.fd();
            for (int i = 0; i < 4; i++) assertThat(ring.offer(i, i, i, i)).isTrue();
            assertThat(ring.offer(4, 4, 4, 4)).as("full before the grow").isFalse();

            ring.grow(16);

            assertThat(ring.capacity()).isEqualTo(16);
            for (int i = 4; i < 20; i++) assertThat(ring.offer(i, i, i, i)).as("offer %d into the new segment", i).isTrue();
            assertThat(ring.offer(20, 20, 20, 20)).as("the new segment holds 16").isFalse();
            assertThat(ring.size()).isEqualTo(20);
            for (int i = 0; i < 20; i++) assertThat(ring.poll()).isEqualTo(new Completion(i, i, i, i));
            assertThat(ring.poll()).isNull();
            assertThat(ring.isEmpty()).isTrue();
            assertThat(ring.fd()).as("the doorbell stays").isEqualTo(fd);

            MemorySegment first = ring.memory();
            assertThat(first.get(LE_LONG, TAIL_OFFSET)).as("the first segment's tail: moved, after its 4 positions").isEqualTo(MOVED | 4);
            assertThat(first.get(LE_LONG, HEAD_OFFSET)).as("drained to that tail").isEqualTo(4);
            long next = first.get(LE_LONG, NEXT_OFFSET);
            MemorySegment second = MemorySegment.ofAddress(next).reinterpret(byteSize(16));
            assertThat(second.get(ValueLayout.JAVA_INT, GENERATION_OFFSET)).isEqualTo(1);
            assertThat(second.get(ValueLayout.JAVA_INT, CAPACITY_OFFSET)).isEqualTo(16);
            assertThat(second.get(LE_LONG, NEXT_OFFSET)).isEqualTo(NEWEST);
            assertThat(second.get(LE_LONG, TAIL_OFFSET)).isEqualTo(16);
        }
    }

    /** A peer that claimed a slot before the grow and publishes after it: its record still comes first. */
    @Test
    void aSlotClaimedInTheOldSegmentBeforeTheGrowIsWaitedForAndDrainedBeforeTheNewSegment() throws IOException {
        try (CompletionRing ring = CompletionRing.allocate(4)) {
            MemorySegment old = ring.memory();
            assertThat(ring.offer(0, 0, 0, 0)).isTrue();
            // Position 1 claimed by a C peer, as the layout comment says: CAS on tail; record and sequence not yet written.
            old.set(LE_LONG, TAIL_OFFSET, 2);

            ring.grow(8);
            assertThat(ring.offer(2, 2, 2, 2)).isTrue();
            assertThat(ring.poll()).isEqualTo(new Completion(0, 0, 0, 0));
            assertThat(ring.poll()).as("position 1 is claimed, not published: nothing after it yet").isNull();
            assertThat(ring.isEmpty()).isTrue();
            assertThat(ring.armDoorbell()).as("a claimed slot is not nothing").isFalse();

            // The peer publishes: record, then sequence = position + 1.
            long record = recordOffset(1);
            for (long field : new long[] {COOKIE_OFFSET, OBJ_OFFSET, RES_OFFSET, RES2_OFFSET}) old.set(LE_LONG, record + field, 1);
            old.set(LE_LONG, sequenceOffset(4, 1), 2);
            assertThat(ring.poll()).isEqualTo(new Completion(1, 1, 1, 1));
            assertThat(ring.poll()).isEqualTo(new Completion(2, 2, 2, 2));
            assertThat(ring.poll()).isNull();
            assertThat(ring.armDoorbell()).isTrue();
        }
    }

    @Test
    void aConsumerArmedBeforeAGrowIsRungByAnOfferIntoTheNewSegment() throws Exception {
        try (CompletionRing ring = CompletionRing.allocate(2)) {
            assertThat(ring.armDoorbell()).isTrue();
            ring.grow(8);
            assertThat(CompletionRingTest.eventfdCount(ring.fd())).isZero();
            assertThat(ring.offer(1, 2, 3, 4)).isTrue();
            assertThat(CompletionRingTest.eventfdCount(ring.fd())).as("the same eventfd rang").isEqualTo(1);
            assertThat(ring.poll()).isEqualTo(new Completion(1, 2, 3, 4));
        }
    }

    @Test
    void growRejectsACapacityThatIsNotLargerOrNotAPowerOfTwoAndAGrowUnderWayElsewhere() throws IOException {
        try (CompletionRing ring = CompletionRing.allocate(8)) {
            for (int bad : new int[] {8, 4, 12, 0, -16, 1 << 27}) {
                assertThatThrownBy(() -> ring.grow(bad)).as("grow(%d)", bad).isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("newCapacity").hasMessageContaining(Integer.toString(bad));
            }
            // Another mapping's grow holds the claim on the newest segment: this one refuses, touching nothing.
            ring.memory().set(LE_LONG, NEXT_OFFSET, GROWING);
            assertThatThrownBy(() -> ring.grow(16)).isInstanceOf(IllegalStateException.class).hasMessageContaining("being grown");
            assertThat(ring.offer(1, 1, 1, 1)).isTrue();
            assertThat(ring.capacity()).isEqualTo(8);
            ring.memory().set(LE_LONG, NEXT_OFFSET, NEWEST);
            ring.grow(16);
            assertThat(ring.capacity()).isEqualTo(16);
            assertThat(ring.poll()).isEqualTo(new Completion(1, 1, 1, 1));
        }
        CompletionRing closed = CompletionRing.allocate(2);
        closed.close();
        assertThatThrownBy(() -> closed.grow(4)).isInstanceOf(IllegalStateException.class).hasMessage("CompletionRing is closed");
    }

    // ------------------------------------------------------------------ four producer threads

    @Test
    void fourProducersKeepTheirOrderWhileAnOnCompletionsConsumerGrowsTheRingThreeTimes() throws Exception {
        int producers = 4;
        int perProducer = 20 * Scale.raceIterations(); // 20,000; 2,000,000 in the stress profile
        long total = (long) producers * perProducer;
        try (CompletionRing ring = CompletionRing.allocate(8); Poller poller = Poller.open()) {
            int fd = ring.fd();
            CompletionRingTest.InOrder checker = new CompletionRingTest.InOrder(producers);
            List<Long> grownAt = new ArrayList<>();
            // The consumer grows from its own handler, on the poller thread (this one), at an eighth, a quarter
            // and half of the records: each time with producers spinning on the full small segment.
            Poller.Registration registration = ring.onCompletions(poller, (cookie, obj, res, res2) -> {
                checker.onCompletion(cookie, obj, res, res2);
                if (checker.count == total / 8 * (1L << grownAt.size()) && grownAt.size() < 3) {
                    grownAt.add(checker.count);
                    try {
                        ring.grow(ring.capacity() * 8);
                    } catch (IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                }
            });
            AtomicBoolean stop = new AtomicBoolean();
            AtomicReference<Throwable> producerFailure = new AtomicReference<>();
            List<Thread> threads = new ArrayList<>();
            try {
                for (int p = 0; p < producers; p++) {
                    int producer = p;
                    threads.add(Thread.ofPlatform().name("ring-producer-" + p).start(() -> {
                        try {
                            for (long n = 0; n < perProducer; n++) {
                                while (!ring.offer(producer, n, 31 * n + producer, ~n)) {
                                    if (stop.get()) return;
                                    Thread.yield(); // two cores: let the consumer run
                                }
                            }
                        } catch (Throwable t) {
                            producerFailure.set(t);
                        }
                    }));
                }
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (checker.count < total && checker.firstError == null && producerFailure.get() == null && System.nanoTime() < deadline) {
                    poller.poll(Duration.ofMillis(100));
                }
                assertThat(producerFailure.get()).isNull();
                assertThat(checker.firstError).isNull();
                assertThat(checker.count).as("records delivered").isEqualTo(total);
                for (int p = 0; p < producers; p++) assertThat(checker.next[p]).as("records from producer %d", p).isEqualTo(perProducer);
                assertThat(grownAt).containsExactly(total / 8, total / 4, total / 2);
                assertThat(ring.capacity()).isEqualTo(8 * 8 * 8 * 8);
                assertThat(ring.fd()).as("the same doorbell, the same registration throughout").isEqualTo(fd);
                assertThat(ring.isEmpty()).isTrue();
            } finally {
                stop.set(true);
                registration.cancel();
                for (Thread t : threads) t.join(TimeUnit.SECONDS.toMillis(10));
            }
        }
    }

    // ------------------------------------------------------------------ through the file

    @Test
    void aGrowThroughOneMappingMovesTheProducersOfAnotherAndAnOpenAfterwardsReadsTheChain() throws IOException {
        Path file = dir.resolve("grown.ring");
        try (CompletionRing consumer = CompletionRing.create(file, 4); CompletionRing producer = CompletionRing.open(file)) {
            for (int i = 0; i < 4; i++) assertThat(producer.offer(i, i, i, i)).isTrue();
            assertThat(producer.offer(4, 4, 4, 4)).isFalse();

            consumer.grow(8);
            consumer.grow(32);
            long third = segmentAfter(segmentAfter(0, 4), 8);
            assertThat(Files.size(file)).as("three segments, each on a page").isEqualTo(third + byteSize(32));

            assertThat(producer.capacity()).as("not seen before its next offer").isEqualTo(4);
            for (int i = 4; i < 36; i++) assertThat(producer.offer(i, i, i, i)).as("offer %d through the other mapping", i).isTrue();
            assertThat(producer.offer(36, 36, 36, 36)).isFalse();
            assertThat(producer.capacity()).isEqualTo(32);

            for (int i = 0; i < 2; i++) assertThat(consumer.poll()).isEqualTo(new Completion(i, i, i, i));
        }
        // A later consumer finds the rest where the last one stopped: in the first segment, then the third.
        try (CompletionRing reopened = CompletionRing.open(file)) {
            assertThat(reopened.capacity()).isEqualTo(32);
            assertThat(reopened.size()).isEqualTo(34);
            for (int i = 2; i < 36; i++) assertThat(reopened.poll()).isEqualTo(new Completion(i, i, i, i));
            assertThat(reopened.poll()).isNull();
            assertThat(reopened.offer(99, 99, 99, 99)).isTrue();
            assertThat(reopened.poll()).isEqualTo(new Completion(99, 99, 99, 99));
        }
        try (CompletionRing reset = CompletionRing.create(file, 4)) { // create starts over with one segment
            assertThat(Files.size(file)).isEqualTo(byteSize(4));
            assertThat(reset.capacity()).isEqualTo(4);
        }
    }

    @Test
    void openOfAGrownFileWithABrokenChainFailsNamingTheSegment() throws IOException {
        Path file = dir.resolve("broken.ring");
        try (CompletionRing ring = CompletionRing.create(file, 4)) {
            ring.grow(8);
            ring.memory().set(LE_LONG, NEXT_OFFSET, 8192); // not where the protocol puts the second segment
        }
        assertThatThrownBy(() -> CompletionRing.open(file).close()).isInstanceOf(IOException.class)
                .hasMessageContaining(file.toString()).hasMessageContaining("next segment at offset 8192");

        try (CompletionRing ring = CompletionRing.create(file, 4)) {
            ring.grow(8);
        }
        try (var channel = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            channel.truncate(Files.size(file) - 8); // the second segment cut short
        }
        assertThatThrownBy(() -> CompletionRing.open(file).close()).isInstanceOf(IOException.class)
                .hasMessageContaining(file + ", segment 1 at offset " + segmentAfter(0, 4)).hasMessageContaining("capacity 8");
    }

    @Test
    void aProducerInAnotherJvmFollowsTheConsumerThroughThreeGrowsOfTheFile() throws Exception {
        Path file = dir.resolve("peer-grown.ring");
        int count = 30_000;
        int[] growAt = {1_000, 5_000, 12_000};
        try (CompletionRing ring = CompletionRing.create(file, 16)) {
            ChildJvm child = ChildJvm.start(RingProducerPeer.class, dir.resolve("peer-grown.log"), file.toString(), Integer.toString(count), "60");
            try {
                RingProducerPeer.InOrder check = new RingProducerPeer.InOrder();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                int grows = 0;
                while (check.next < count) {
                    if (ring.awaitNonEmpty(Duration.ofSeconds(1))) {
                        ring.drain(check, 256);
                    } else {
                        assertThat(child.process.isAlive() || !ring.isEmpty()).as("producer alive at %d; output: %s", check.next, child.output()).isTrue();
                    }
                    // The child is at most a segment ahead of us: it is producing when we grow.
                    if (grows < growAt.length && check.next >= growAt[grows]) {
                        ring.grow(ring.capacity() * 8);
                        grows++;
                    }
                    assertThat(System.nanoTime()).as("all records in time; %d so far; output: %s", check.next, child.output()).isLessThan(deadline);
                }
                assertThat(check.error()).isNull();
                assertThat(check.next).isEqualTo(count);
                assertThat(grows).isEqualTo(3);
                assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).as("child exited; output: %s", child.output()).isTrue();
                assertThat(child.process.exitValue()).as("child exit status; output: %s", child.output()).isZero();
                assertThat(ring.isEmpty()).isTrue();
                assertThat(ring.capacity()).isEqualTo(16 * 8 * 8 * 8);
                long last = segmentAfter(segmentAfter(segmentAfter(0, 16), 128), 1024);
                assertThat(Files.size(file)).isEqualTo(last + byteSize(8192));
            } finally {
                child.destroy();
            }
        }
    }
}
