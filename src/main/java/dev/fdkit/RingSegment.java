package dev.fdkit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static dev.fdkit.CompletionRingLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * One segment of a {@link CompletionRing}: the ring as version 3 had it, plus {@code next} and the moved bit
 * (the layout and the claim/publish protocol are in CompletionRing's class comment). Producers and the
 * consumer reach its fields through the accessors below, memory order in the name (JCTools' convention:
 * lv = load volatile, la = load acquire, so = store ordered (release), cas = compare-and-set).
 */
final class RingSegment {
    private static final VarHandle LONG = JAVA_LONG.varHandle();
    private static final VarHandle HEAD_CACHE;

    static {
        try {
            HEAD_CACHE = java.lang.invoke.MethodHandles.lookup().findVarHandle(RingSegment.class, "headCache", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final MemorySegment memory; // header at 0
    final int capacity;
    final long mask;
    final long sequences; // offset of slot 0's sequence
    final int generation;
    final long offset; // in the ring file; -1 in allocated memory
    final long link; // what the previous segment's `next` holds: the offset, or the address
    volatile RingSegment next; // once linked: set before MOVED by a grow through this object, else when first followed
    @SuppressWarnings("unused") // through HEAD_CACHE: a head the producers of this mapping saw, never above the real one
    private long headCache;

    RingSegment(MemorySegment memory, int capacity, int generation, long offset) {
        this.memory = memory;
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.sequences = sequenceOffset(capacity, 0);
        this.generation = generation;
        this.offset = offset;
        this.link = offset >= 0 ? offset : memory.address();
    }

    /** Fills the claimed slot of {@code position} and publishes it. */
    void write(long position, long cookie, long obj, long res, long res2) {
        long record = recordOffset(position & mask);
        memory.set(JAVA_LONG, record + COOKIE_OFFSET, cookie);
        memory.set(JAVA_LONG, record + OBJ_OFFSET, obj);
        memory.set(JAVA_LONG, record + RES_OFFSET, res);
        memory.set(JAVA_LONG, record + RES2_OFFSET, res2);
        soSequence(position, position + 1); // release: the record's fields before the sequence that publishes them
    }

    /** Whether the consumer at {@code head} has consumed every position a grow left in this segment. */
    boolean drainedAt(long head) {
        long tail = lvTail();
        return tail < 0 && (tail & ~MOVED) == head;
    }

    long lvTail() {
        return (long) LONG.getVolatile(memory, TAIL_OFFSET);
    }

    boolean casTail(long expected, long claimed) {
        return LONG.compareAndSet(memory, TAIL_OFFSET, expected, claimed);
    }

    void setMoved() {
        LONG.getAndBitwiseOr(memory, TAIL_OFFSET, MOVED);
    }

    long lvHead() {
        return (long) LONG.getVolatile(memory, HEAD_OFFSET);
    }

    long laHead() {
        return (long) LONG.getAcquire(memory, HEAD_OFFSET);
    }

    void soHead(long head) {
        LONG.setRelease(memory, HEAD_OFFSET, head);
    }

    long laHeadCache() {
        return (long) HEAD_CACHE.getAcquire(this);
    }

    void soHeadCache(long head) {
        HEAD_CACHE.setRelease(this, head);
    }

    long lvSequence(long position) {
        return (long) LONG.getVolatile(memory, sequences + (position & mask) * SEQUENCE_LENGTH);
    }

    long laSequence(long position) {
        return (long) LONG.getAcquire(memory, sequences + (position & mask) * SEQUENCE_LENGTH);
    }

    void soSequence(long position, long sequence) {
        LONG.setRelease(memory, sequences + (position & mask) * SEQUENCE_LENGTH, sequence);
    }

    long laNext() {
        return (long) LONG.getAcquire(memory, NEXT_OFFSET);
    }

    boolean casNext(long expected, long next) {
        return LONG.compareAndSet(memory, NEXT_OFFSET, expected, next);
    }

    void soNext(long next) {
        LONG.setRelease(memory, NEXT_OFFSET, next);
    }

    /** A segment of {@code capacity} slots in memory of {@code arena}, initialised. */
    static RingSegment allocate(Arena arena, int capacity, int generation) {
        MemorySegment memory = arena.allocate(byteSize(capacity), 4096);
        initialize(memory, capacity, generation);
        return new RingSegment(memory, capacity, generation, -1);
    }

    static void initialize(MemorySegment memory, int capacity, int generation) {
        memory.asSlice(0, HEADER_LENGTH).fill((byte) 0);
        memory.set(JAVA_INT, VERSION_OFFSET, VERSION);
        memory.set(JAVA_INT, CAPACITY_OFFSET, capacity);
        memory.set(JAVA_INT, RECORD_SIZE_OFFSET, RECORD_LENGTH);
        memory.set(JAVA_INT, GENERATION_OFFSET, generation);
        for (long i = 0; i < capacity; i++) memory.set(JAVA_LONG, sequenceOffset(capacity, i), i);
        // The magic last: a reader that skips the lock protocol sees no ring rather than half of one.
        VarHandle.fullFence();
        memory.set(JAVA_INT, MAGIC_OFFSET, MAGIC);
        VarHandle.fullFence();
    }

    static boolean isValidCapacity(int capacity) {
        return capacity >= 2 && Integer.bitCount(capacity) == 1 && capacity <= (1 << 26);
    }
}
