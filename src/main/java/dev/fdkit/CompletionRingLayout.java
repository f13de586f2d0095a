package dev.fdkit;

/**
 * Where everything sits in a {@link CompletionRing}'s memory: offsets only, as Agrona's RingBufferDescriptor.
 * The byte-level contract C peers follow is the table in CompletionRing's class comment; these constants are
 * that table. All values are little-endian.
 * <p>
 * A ring is a chain of segments, each laid out as this table says: the first at offset 0, and one more per
 * {@link CompletionRing#grow grow}, linked by {@code next}. In a file, segment n+1 starts at
 * {@link #segmentAfter} segment n; the doorbell fields of the first segment are the ring's, those of the
 * others stay zero.
 * <p>
 * Each field that some side writes on the hot path has a 128-byte block of its own: the tail (producers'
 * CAS), the head (the consumer's release store), the doorbell (armed and the futex word). 128, not 64:
 * the adjacent-line prefetcher fetches cache lines in 128-byte aligned pairs, so two fields one line apart
 * would still move between cores together.
 */
final class CompletionRingLayout {
    private CompletionRingLayout() {}

    /** "FKDR" read as a little-endian int. */
    static final int MAGIC = 0x52444B46;
    /** 4: segments linked by next, a moved bit in tail (version 3: one segment; version 2: tail, head and armed at 64, 128, 192). */
    static final int VERSION = 4;

    /** The unit of separation between fields written by different sides: two cache lines. */
    static final int BLOCK = 128;

    static final long MAGIC_OFFSET = 0;
    static final long VERSION_OFFSET = 4;
    static final long CAPACITY_OFFSET = 8;
    static final long RECORD_SIZE_OFFSET = 12;
    /** u64: {@link #NEWEST}, {@link #GROWING}, or where the next segment starts (file offset, or address in memory). */
    static final long NEXT_OFFSET = 16;
    /** u32: 0 for the first segment, one more for each next one. */
    static final long GENERATION_OFFSET = 24;
    /** {@code next}: no segment follows. */
    static final long NEWEST = 0;
    /** {@code next}: a grow has claimed the segment and is adding the next one. */
    static final long GROWING = 1;
    /** The bit of tail that says the segment is closed to producers: they go on in the next one. */
    static final long MOVED = Long.MIN_VALUE;
    /** Where segments start in a file: page boundaries, so a C peer may map one on its own. */
    static final long SEGMENT_ALIGNMENT = 4096;

    /** u64, the next position to claim (with {@link #MOVED} once replaced); producers claim by CAS. */
    static final long TAIL_OFFSET = BLOCK;
    /** u64, the next position to consume; written by the consumer only. */
    static final long HEAD_OFFSET = 2 * BLOCK;
    /** u64: 0 = consumer busy, 1 = it waits on the futex doorbell, else the id of the mapping whose eventfd it wants. */
    static final long ARMED_OFFSET = 3 * BLOCK;
    /** u32 futex word (shared), incremented on every ring. */
    static final long DOORBELL_OFFSET = ARMED_OFFSET + Long.BYTES;
    static final int HEADER_LENGTH = 4 * BLOCK;

    /** A record: {u64 cookie, u64 obj, s64 res, s64 res2}. */
    static final int RECORD_LENGTH = 32;
    static final long COOKIE_OFFSET = 0;
    static final long OBJ_OFFSET = 8;
    static final long RES_OFFSET = 16;
    static final long RES2_OFFSET = 24;

    /** A slot's sequence, u64 (Vyukov bounded queue). */
    static final int SEQUENCE_LENGTH = Long.BYTES;

    /** Slot {@code index}'s record. */
    static long recordOffset(long index) {
        return HEADER_LENGTH + index * RECORD_LENGTH;
    }

    /** Slot {@code index}'s sequence, after the {@code capacity} records. */
    static long sequenceOffset(int capacity, long index) {
        return recordOffset(capacity) + index * SEQUENCE_LENGTH;
    }

    /** A whole segment of {@code capacity} slots (a ring that never grew: the size of its file). */
    static long byteSize(int capacity) {
        return sequenceOffset(capacity, capacity);
    }

    /** Where, in a ring file, the segment after the one at {@code offset} with {@code capacity} slots starts. */
    static long segmentAfter(long offset, int capacity) {
        long end = offset + byteSize(capacity);
        return (end + SEGMENT_ALIGNMENT - 1) & -SEGMENT_ALIGNMENT;
    }
}
