package dev.fdkit;

/**
 * Where everything sits in a {@link CompletionRing}'s memory: offsets only, as Agrona's RingBufferDescriptor.
 * The byte-level contract C peers follow is the table in CompletionRing's class comment; these constants are
 * that table. All values are little-endian.
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
    /** 3: tail, head and the doorbell each in a 128-byte block of its own (version 2: 64, 128, 192). */
    static final int VERSION = 3;

    /** The unit of separation between fields written by different sides: two cache lines. */
    static final int BLOCK = 128;

    static final long MAGIC_OFFSET = 0;
    static final long VERSION_OFFSET = 4;
    static final long CAPACITY_OFFSET = 8;
    static final long RECORD_SIZE_OFFSET = 12;
    /** u64, the next position to claim; producers claim by CAS. */
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

    /** The whole ring, and so the size of its file. */
    static long byteSize(int capacity) {
        return sequenceOffset(capacity, capacity);
    }
}
