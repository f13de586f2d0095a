package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.CompletionRingLayout.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A ring file's life: create() refuses a file that any mapping (this JVM, another JVM, a C peer taking the
 * documented flock) still uses, instead of truncating it under them; open() turns every short, corrupt or
 * half-created file into an IOException naming the file and the problem, and maps nothing it has not checked.
 */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime state (the shared Uring, /dev/urandom) is baseline
@ExtendWith(LeakGuard.class)
@Timeout(60)
class CompletionRingFileTest {
    @TempDir
    Path dir;

    // ------------------------------------------------------------------ create over a ring in use

    @Test
    void createIsRefusedWhileAnotherMappingInThisJvmHoldsTheFileAndTheHolderKeepsWorking() throws IOException {
        Path file = dir.resolve("held.ring");
        try (CompletionRing holder = CompletionRing.create(file, 16)) {
            for (int i = 0; i < 3; i++) assertThat(holder.offer(i, 10 + i, 20 + i, 30 + i)).isTrue();
            int descriptors = LeakGuard.openDescriptorCount();

            assertRefused(file, 2); // smaller: would cut the holder's pages off (SIGBUS)
            assertRefused(file, 16); // same size: would zero the ring under the holder
            assertThat(LeakGuard.openDescriptorCount()).as("a refused create leaves no descriptor").isEqualTo(descriptors);

            assertThat(Files.size(file)).isEqualTo(byteSize(16));
            for (int i = 0; i < 3; i++) assertThat(holder.poll()).isEqualTo(new Completion(i, 10 + i, 20 + i, 30 + i));
            assertThat(holder.offer(7, 8, 9, 10)).isTrue();
            assertThat(holder.poll()).isEqualTo(new Completion(7, 8, 9, 10));

            // An open() mapping holds the file just as the creator's does.
            try (CompletionRing second = CompletionRing.open(file)) {
                holder.close();
                assertRefused(file, 2);
                assertThat(second.offer(1, 2, 3, 4)).isTrue();
                assertThat(second.poll()).isEqualTo(new Completion(1, 2, 3, 4));
            }
        }
        // Every holder closed: unmapped, so the file is free again.
        assertThat(Files.readString(Path.of("/proc/self/maps"))).as("no mapping of the file left").doesNotContain(file.toString());
        try (CompletionRing fresh = CompletionRing.create(file, 2)) {
            assertThat(fresh.capacity()).isEqualTo(2);
            assertThat(fresh.isEmpty()).isTrue();
            assertThat(Files.size(file)).isEqualTo(byteSize(2));
        }
    }

    @Test
    void createIsRefusedWhileAProducerInAnotherJvmHoldsTheFileAndTheProducerCarriesOn() throws Exception {
        Path file = dir.resolve("peer-held.ring");
        int count = 5_000; // more than the capacity: the child keeps the ring mapped, waiting for room, until we drain
        ChildJvm child;
        try (CompletionRing ring = CompletionRing.create(file, 1024)) {
            child = ChildJvm.start(RingProducerPeer.class, dir.resolve("peer-held.log"), file.toString(), Integer.toString(count), "40");
            // The first record shows the child has the file mapped.
            assertThat(ring.awaitNonEmpty(Duration.ofSeconds(30))).as("the child produced; output: %s", child.output()).isTrue();
        }
        try {
            // Only the child maps the file now. Before the lock protocol this create truncated it to 336 bytes
            // and the child died at its next offer: InternalError (SIGBUS) writing a slot's sequence.
            assertRefused(file, 2);

            RingProducerPeer.InOrder check = new RingProducerPeer.InOrder();
            try (CompletionRing again = CompletionRing.open(file)) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
                while (check.next < count) {
                    if (again.awaitNonEmpty(Duration.ofSeconds(1))) again.drain(check, 4096);
                    else assertThat(child.process.isAlive()).as("producer alive at record %d; output: %s", check.next, child.output()).isTrue();
                    assertThat(System.nanoTime()).as("all records in time; %d so far; output: %s", check.next, child.output()).isLessThan(deadline);
                }
            }
            assertThat(check.error()).isNull();
            assertThat(child.process.waitFor(30, TimeUnit.SECONDS)).as("child exited; output: %s", child.output()).isTrue();
            assertThat(child.process.exitValue()).as("child exit status; output: %s", child.output()).isZero();
            assertThat(child.output()).doesNotContain("InternalError");
        } finally {
            child.destroy();
        }
        CompletionRing.create(file, 2).close(); // the child exited, and with it its mapping and lock
    }

    /** The protocol as a C peer follows it: a shared flock on the file for as long as it maps it. */
    @Test
    void aPeerHoldingTheSharedLockBlocksCreateAndAPeerCreatingBlocksOpen() throws IOException, SyscallException {
        Path file = dir.resolve("c-peer.ring");
        CompletionRing.create(file, 8).close();

        int peer = Syscalls.open(file.toString(), Uapi.O_RDWR, 0);
        try {
            assertThat(Syscalls.flock(peer, Uapi.LOCK_SH | Uapi.LOCK_NB)).isTrue();
            assertRefused(file, 8);
            try (CompletionRing ring = CompletionRing.open(file)) { // shared with the peer
                assertThat(ring.capacity()).isEqualTo(8);
            }

            // A peer between its exclusive lock and its downgrade is still initialising the file: open() must not map it.
            assertThat(Syscalls.flock(peer, Uapi.LOCK_EX | Uapi.LOCK_NB)).isTrue();
            int descriptors = LeakGuard.openDescriptorCount();
            assertThatThrownBy(() -> CompletionRing.open(file)).isInstanceOf(IOException.class)
                    .hasMessageContaining(file.toString()).hasMessageContaining("being created");
            assertThat(LeakGuard.openDescriptorCount()).as("a refused open leaves no descriptor").isEqualTo(descriptors);
        } finally {
            Syscalls.close(peer);
        }
        CompletionRing.create(file, 8).close();
    }

    private static void assertRefused(Path file, int capacity) {
        assertThatThrownBy(() -> CompletionRing.create(file, capacity).close()).as("create(%s, %d) over a ring in use", file, capacity)
                .isInstanceOf(IOException.class).hasMessageContaining(file.toString()).hasMessageContaining("in use");
    }

    // ------------------------------------------------------------------ open of a short or corrupt file

    @Test
    void openOfAShortOrCorruptFileFailsWithAnIOExceptionNamingTheFileAndTheProblem() throws IOException {
        int descriptors = LeakGuard.openDescriptorCount();
        assertCorrupt(Files.createFile(dir.resolve("zero-length")), "0 bytes");
        assertCorrupt(Files.write(dir.resolve("shorter-than-the-header"), Arrays.copyOf(header(16), 100)), "100 bytes");
        assertCorrupt(Files.write(dir.resolve("header-only"), header(16)), "the file size is " + HEADER_LENGTH);
        assertCorrupt(Files.write(dir.resolve("capacity-beyond-the-file"), ring(header(1 << 26), 16)), "capacity 67108864");
        assertCorrupt(Files.write(dir.resolve("longer-than-its-capacity"), ring(header(16), 32)), "capacity 16");
        assertCorrupt(Files.write(dir.resolve("truncated-records"), Arrays.copyOf(ring(header(16), 16), (int) byteSize(16) - 1)), "capacity 16");
        assertCorrupt(Files.write(dir.resolve("wrong-magic"), ring(patch(header(16), MAGIC_OFFSET, 0x464B4452), 16)), "magic");
        assertCorrupt(Files.write(dir.resolve("newer-version"), ring(patch(header(16), VERSION_OFFSET, VERSION + 1), 16)), "version " + (VERSION + 1));
        assertCorrupt(Files.write(dir.resolve("negative-capacity"), ring(patch(header(16), CAPACITY_OFFSET, -16), 16)), "capacity -16");
        assertCorrupt(Files.createDirectory(dir.resolve("a-directory")), "Is a directory");
        assertThat(LeakGuard.openDescriptorCount()).as("failed opens leave no descriptor").isEqualTo(descriptors);

        Path valid = Files.write(dir.resolve("valid"), ring(header(16), 16)); // the same bytes, well formed, do open
        try (CompletionRing ring = CompletionRing.open(valid)) {
            assertThat(ring.capacity()).isEqualTo(16);
            assertThat(ring.offer(1, 2, 3, 4)).isTrue();
            assertThat(ring.poll()).isEqualTo(new Completion(1, 2, 3, 4));
        }
    }

    private static void assertCorrupt(Path file, String problem) {
        assertThatThrownBy(() -> CompletionRing.open(file).close()).as("open(%s)", file.getFileName())
                .isInstanceOf(IOException.class).hasMessageContaining(file.toString()).hasMessageContaining(problem);
    }

    /** A header for {@code capacity} slots, as a C peer writes it. */
    private static byte[] header(int capacity) {
        byte[] bytes = new byte[HEADER_LENGTH];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt((int) MAGIC_OFFSET, MAGIC).putInt((int) VERSION_OFFSET, VERSION)
                .putInt((int) CAPACITY_OFFSET, capacity).putInt((int) RECORD_SIZE_OFFSET, RECORD_LENGTH);
        return bytes;
    }

    /** {@code header} followed by the records and sequences of {@code slots} slots (slot i's sequence = i). */
    private static byte[] ring(byte[] header, int slots) {
        byte[] bytes = Arrays.copyOf(header, (int) byteSize(slots));
        ByteBuffer buffer = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < slots; i++) buffer.putLong((int) sequenceOffset(slots, i), i);
        return bytes;
    }

    private static byte[] patch(byte[] bytes, long offset, int value) {
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt((int) offset, value);
        return bytes;
    }
}
