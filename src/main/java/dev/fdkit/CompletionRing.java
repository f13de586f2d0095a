package dev.fdkit;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A bounded ring of {@link Completion} records in off-heap memory: many producers, one consumer — the
 * asyncfd design done in user space, usable between processes through a mapped file.
 *
 * <h2>Layout (version 1, little-endian; a C peer can produce into it)</h2>
 * <pre>
 * offset   size  field
 *      0      4  magic 0x52444B46 ("FKDR")
 *      4      4  version = 1
 *      8      4  capacity: a power of two
 *     12      4  record size = 32
 *     64      8  tail: next position to claim; producers claim by CAS
 *    128      8  head: next position to consume; written by the consumer only
 *    192      4  armed: 0 = consumer busy, 1 = wants the eventfd doorbell, 2 = waits on the futex doorbell
 *    196      4  doorbell futex word, incremented on every ring
 *    256  32*capacity  records {u64 cookie, u64 obj, s64 res, s64 res2}
 *    256+32*capacity   8*capacity  sequence per slot (Vyukov bounded queue)
 * </pre>
 * Slot {@code i} starts with sequence {@code i}. A producer at position {@code p} (slot {@code p & (capacity-1)})
 * may write when the sequence equals {@code p}, claims {@code p} by CAS on tail, writes the record, then
 * publishes with sequence {@code p+1} (release). The consumer reads slot {@code h} when its sequence is
 * {@code h+1} (acquire), then frees it with sequence {@code h+capacity}. A half-written record is never read.
 * A full ring refuses ({@link #offer} returns false): never overwrite, never loss.
 *
 * <h2>Doorbell</h2>
 * Producers ring only when the consumer armed the doorbell after finding the ring empty, so steady-state
 * offers make no syscall. In this process the doorbell is an eventfd ({@link #fd()}, pollable, see
 * {@link #onCompletions}); across processes the consumer waits on the header's futex word
 * ({@link #awaitNonEmpty}), which any producer process wakes.
 */
public final class CompletionRing implements Pollable, AutoCloseable {
    /** Handler for {@link #drain}: receives the fields, allocation-free. */
    @FunctionalInterface
    public interface Handler {
        void onCompletion(long cookie, long obj, long res, long res2);
    }

    static final int MAGIC = 0x52444B46;
    static final int VERSION = 1;
    static final int HEADER = 256;
    static final int RECORD = 32;
    private static final long CAPACITY_OFFSET = 8;
    private static final long RECORD_SIZE_OFFSET = 12;
    private static final long TAIL = 64;
    private static final long HEAD = 128;
    private static final long ARMED = 192;
    private static final long DOORBELL = 196;
    private static final int IDLE = 0;
    private static final int ARMED_EVENTFD = 1;
    private static final int ARMED_FUTEX = 2;

    private static final VarHandle LONG = JAVA_LONG.varHandle();
    private static final VarHandle INT = JAVA_INT.varHandle();

    private final Arena arena;
    private final MemorySegment memory;
    private final int capacity;
    private final long mask;
    private final long sequences;
    private final EventFd doorbellFd;
    private final Futex doorbell;

    private CompletionRing(Arena arena, MemorySegment memory, int capacity) {
        this.arena = arena;
        this.memory = memory;
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.sequences = HEADER + (long) RECORD * capacity;
        this.doorbell = Futex.sharedWord(memory, DOORBELL);
        this.doorbellFd = EventFd.open();
    }

    /** A ring in this process's memory. */
    public static CompletionRing allocate(int capacity) {
        checkCapacity(capacity);
        Arena arena = Arena.ofShared();
        MemorySegment memory = arena.allocate(byteSize(capacity), 4096);
        initialize(memory, capacity);
        return new CompletionRing(arena, memory, capacity);
    }

    /** Creates (or truncates) {@code file} as a ring of {@code capacity} records and maps it shared. */
    public static CompletionRing create(Path file, int capacity) throws IOException {
        checkCapacity(capacity);
        Objects.requireNonNull(file, "file");
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            MemorySegment memory = channel.map(FileChannel.MapMode.READ_WRITE, 0, byteSize(capacity), arena);
            initialize(memory, capacity);
            return new CompletionRing(arena, memory, capacity);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Maps an existing ring file (made by {@link #create} here or elsewhere), checking its header. */
    public static CompletionRing open(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long size = channel.size();
            if (size < HEADER) throw new IOException(file + " is not a completion ring: " + size + " bytes");
            MemorySegment memory = channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
            int magic = memory.get(JAVA_INT, 0);
            int version = memory.get(JAVA_INT, 4);
            int capacity = memory.get(JAVA_INT, CAPACITY_OFFSET);
            int recordSize = memory.get(JAVA_INT, RECORD_SIZE_OFFSET);
            if (magic != MAGIC) throw new IOException(file + " is not a completion ring (magic 0x" + Integer.toHexString(magic) + ")");
            if (version != VERSION) throw new IOException(file + ": ring version " + version + ", this fdkit reads version " + VERSION);
            if (recordSize != RECORD) throw new IOException(file + ": record size " + recordSize + ", this fdkit reads " + RECORD + "-byte records");
            // The same rule as create(): with one slot, a producer finds a published, unconsumed slot's
            // sequence equal to its own position and overwrites it, and the consumer never sees it again.
            if (!isValidCapacity(capacity)) throw new IOException(file + ": capacity " + capacity + " is not a power of two between 2 and 2^26");
            if (byteSize(capacity) != size) {
                throw new IOException(file + ": capacity " + capacity + " does not match the file size " + size);
            }
            return new CompletionRing(arena, memory, capacity);
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public int capacity() {
        return capacity;
    }

    /** Records waiting to be consumed (a snapshot). */
    public int size() {
        long size = (long) LONG.getVolatile(memory, TAIL) - (long) LONG.getVolatile(memory, HEAD);
        return (int) Math.max(0, Math.min(size, capacity));
    }

    /** No producer has claimed a slot the consumer has not consumed: the arming side of the Dekker pair in offer(). */
    private boolean nothingClaimed() {
        return (long) LONG.getVolatile(memory, TAIL) == (long) LONG.getVolatile(memory, HEAD);
    }

    public boolean isEmpty() {
        long head = (long) LONG.getVolatile(memory, HEAD);
        return (long) LONG.getVolatile(memory, sequences + (head & mask) * 8) != head + 1;
    }

    // ------------------------------------------------------------------ producers

    /**
     * Appends a record; false if the ring is full (back-pressure). Lock-free, any thread or process.
     * Makes a syscall only when the consumer has armed the doorbell.
     */
    public boolean offer(long cookie, long obj, long res, long res2) {
        long position;
        for (;;) {
            position = (long) LONG.getVolatile(memory, TAIL);
            long sequence = (long) LONG.getAcquire(memory, sequences + (position & mask) * 8);
            long difference = sequence - position;
            if (difference == 0) {
                if (LONG.compareAndSet(memory, TAIL, position, position + 1)) break;
            } else if (difference < 0) {
                return false;
            }
            Thread.onSpinWait();
        }
        // Dekker with the consumer: our claim (a CAS, a full fence) comes before this load of `armed`; the
        // consumer's store to `armed` comes before its re-check of TAIL (claims, not publications). So either
        // we see it armed and ring, or it sees our claim and does not sleep. That lets the publication below
        // be a plain release store, as in Agrona, instead of a second full fence.
        boolean ringAfterPublishing = (int) INT.getVolatile(memory, ARMED) != IDLE;
        long record = HEADER + (position & mask) * RECORD;
        memory.set(JAVA_LONG, record, cookie);
        memory.set(JAVA_LONG, record + 8, obj);
        memory.set(JAVA_LONG, record + 16, res);
        memory.set(JAVA_LONG, record + 24, res2);
        LONG.setRelease(memory, sequences + (position & mask) * 8, position + 1);
        if (ringAfterPublishing) ring();
        return true;
    }

    /** {@link #offer(long, long, long, long)} for a record. */
    public boolean offer(Completion completion) {
        return offer(completion.cookie(), completion.obj(), completion.res(), completion.res2());
    }

    private void ring() {
        int armed = (int) INT.getAndSet(memory, ARMED, IDLE);
        if (armed == IDLE) return; // another producer rang first
        doorbell.getAndAdd(1);
        if (armed == ARMED_FUTEX) doorbell.wakeAll();
        else doorbellFd.trySignal(1);
    }

    // ------------------------------------------------------------------ the consumer

    /**
     * Consumes up to {@code limit} records in order, calling {@code handler} for each; returns how many.
     * One consumer at a time; no allocation.
     */
    public int drain(Handler handler, int limit) {
        Objects.requireNonNull(handler, "handler");
        if (limit < 1) throw new IllegalArgumentException("limit must be at least 1, was " + limit);
        long head = (long) LONG.getVolatile(memory, HEAD);
        int consumed = 0;
        while (consumed < limit) {
            long sequenceAt = sequences + (head & mask) * 8;
            if ((long) LONG.getAcquire(memory, sequenceAt) != head + 1) break;
            long record = HEADER + (head & mask) * RECORD;
            long cookie = memory.get(JAVA_LONG, record);
            long obj = memory.get(JAVA_LONG, record + 8);
            long res = memory.get(JAVA_LONG, record + 16);
            long res2 = memory.get(JAVA_LONG, record + 24);
            LONG.setRelease(memory, sequenceAt, head + capacity);
            head++;
            LONG.setRelease(memory, HEAD, head);
            consumed++;
            handler.onCompletion(cookie, obj, res, res2);
        }
        return consumed;
    }

    /** The next record, or null if empty (allocates; {@link #drain} does not). */
    public Completion poll() {
        Completion[] one = new Completion[1];
        drain((c, o, r, r2) -> one[0] = new Completion(c, o, r, r2), 1);
        return one[0];
    }

    /**
     * Arms the eventfd doorbell: the next offer signals {@link #fd()}. Returns false (and leaves the
     * doorbell armed) if records are already waiting: drain them first.
     */
    public boolean armDoorbell() {
        INT.setVolatile(memory, ARMED, ARMED_EVENTFD);
        return nothingClaimed();
    }

    /**
     * Waits (on the header's futex word, so producers in other processes can wake it) until the ring is
     * non-empty or {@code timeout} passes; returns whether it is non-empty. Blocks in the kernel: on a
     * virtual thread it pins the carrier.
     *
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    public boolean awaitNonEmpty(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        long nanos;
        try {
            nanos = timeout.toNanos();
        } catch (ArithmeticException beyond292Years) {
            nanos = Long.MAX_VALUE;
        }
        // Elapsed time against the timeout, not nanoTime() + timeout as a deadline: that overflows for
        // long timeouts and would turn "wait (practically) forever" into "do not wait".
        long start = System.nanoTime();
        for (;;) {
            if (!isEmpty()) return true;
            int ticket = doorbell.get();
            INT.setVolatile(memory, ARMED, ARMED_FUTEX);
            if (!nothingClaimed()) { // claimed: published at once, or very soon
                if (!isEmpty()) return true;
                Thread.onSpinWait();
                continue;
            }
            long left = nanos - (System.nanoTime() - start);
            if (left <= 0) return false;
            doorbell.await(ticket, Duration.ofNanos(left));
        }
    }

    /**
     * Drains on {@code poller}'s thread whenever records arrive: registers the eventfd doorbell, and after
     * each batch re-arms it, so producers ring only on the empty to non-empty transition.
     */
    public Poller.Registration onCompletions(Poller poller, Handler handler) {
        Objects.requireNonNull(handler, "handler");
        Poller.Registration registration = poller.register(doorbellFd, Poller.READABLE, (r, events) -> {
            doorbellFd.tryReadValue();
            do {
                while (drain(handler, 1024) == 1024) {
                    // keep going: a batch at a time
                }
            } while (!armDoorbell());
        });
        if (!armDoorbell()) doorbellFd.trySignal(1); // records already waiting: make the first poll see them
        return registration;
    }

    /** The eventfd doorbell: readable after an armed ring (in-process producers). */
    @Override
    public int fd() {
        return doorbellFd.fd();
    }

    /** The ring's memory (header included), for peers and tests. */
    public MemorySegment memory() {
        return memory;
    }

    /** Unmaps or frees the memory and closes the doorbell. Producers and the consumer must have stopped. */
    @Override
    public void close() {
        doorbellFd.close();
        if (arena.scope().isAlive()) arena.close();
    }

    @Override
    public String toString() {
        return "CompletionRing(capacity=" + capacity + ", size=" + size() + ")";
    }

    // ------------------------------------------------------------------ layout

    static long byteSize(int capacity) {
        return HEADER + (long) RECORD * capacity + 8L * capacity;
    }

    private static void initialize(MemorySegment memory, int capacity) {
        memory.asSlice(0, HEADER).fill((byte) 0);
        memory.set(JAVA_INT, 0, MAGIC);
        memory.set(JAVA_INT, 4, VERSION);
        memory.set(JAVA_INT, CAPACITY_OFFSET, capacity);
        memory.set(JAVA_INT, RECORD_SIZE_OFFSET, RECORD);
        long sequences = HEADER + (long) RECORD * capacity;
        for (long i = 0; i < capacity; i++) memory.set(JAVA_LONG, sequences + i * 8, i);
        VarHandle.fullFence();
    }

    private static boolean isValidCapacity(int capacity) {
        return capacity >= 2 && Integer.bitCount(capacity) == 1 && capacity <= (1 << 26);
    }

    private static void checkCapacity(int capacity) {
        if (!isValidCapacity(capacity)) {
            throw new IllegalArgumentException("capacity must be a power of two between 2 and 2^26, was " + capacity);
        }
    }
}
