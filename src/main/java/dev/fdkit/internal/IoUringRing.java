package dev.fdkit.internal;

import dev.fdkit.internal.linux.__kernel_timespec;
import dev.fdkit.internal.linux.fdkit_h;
import dev.fdkit.internal.linux.io_cqring_offsets;
import dev.fdkit.internal.linux.io_sqring_offsets;
import dev.fdkit.internal.linux.io_uring_cqe;
import dev.fdkit.internal.linux.io_uring_params;
import dev.fdkit.internal.linux.io_uring_sqe;
import dev.fdkit.internal.linux.siginfo_t;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * One io_uring instance: setup, the mmapped SQ/CQ rings and SQE array, and the index protocol. Ring
 * indices shared with the kernel are read with acquire (lv) and published with release (so) semantics.
 * Not thread-safe: the Uring object model serialises submission and reaping.
 */
public final class IoUringRing implements AutoCloseable {
    /** Receives one CQE. */
    @FunctionalInterface
    public interface CqeHandler {
        void onCqe(long userData, int res, int flags);
    }

    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final long SQE_SIZE = io_uring_sqe.layout().byteSize();
    private static final long CQE_SIZE = io_uring_cqe.layout().byteSize();
    private static final long SQ_ARRAY_ENTRY = JAVA_INT.byteSize(); // the SQ array holds __u32 SQE indices

    private final int fd;
    private final MemorySegment sqRing;
    private final MemorySegment cqRing; // the same mapping as sqRing with IORING_FEAT_SINGLE_MMAP
    private final MemorySegment sqes;
    private final MemorySegment[] sqeSlots; // one slice per SQE, made once: nextSqe() allocates nothing
    private final long sqHead, sqTail, sqFlags, sqArray;
    private final int sqMask, sqEntries;
    private final long cqHead, cqTail, cqes;
    private final int cqMask, cqEntries;
    private final boolean singleMmap;
    private final boolean nodrop;
    private int localSqTail; // SQEs prepared, published to the kernel by submit()
    private int toSubmit;
    private long overflowFlushes; // written and read under the owner's reap lock

    public IoUringRing(int entries, int cqEntries) throws SyscallException {
        MemorySegment params = Arena.ofAuto().allocate(io_uring_params.layout());
        int flags = fdkit_h.IORING_SETUP_CLAMP();
        if (cqEntries > 0) {
            flags |= fdkit_h.IORING_SETUP_CQSIZE();
            io_uring_params.cq_entries(params, cqEntries);
        }
        io_uring_params.flags(params, flags);
        this.fd = Syscalls.ioUringSetup(entries, params);
        MemorySegment mappedSq = null, mappedCq = null;
        try {
            MemorySegment sqOff = io_uring_params.sq_off(params);
            MemorySegment cqOff = io_uring_params.cq_off(params);
            int features = io_uring_params.features(params);
            this.singleMmap = (features & fdkit_h.IORING_FEAT_SINGLE_MMAP()) != 0;
            this.nodrop = (features & fdkit_h.IORING_FEAT_NODROP()) != 0;
            this.sqEntries = io_uring_params.sq_entries(params);
            this.cqEntries = io_uring_params.cq_entries(params);
            long sqSize = io_sqring_offsets.array(sqOff) + SQ_ARRAY_ENTRY * sqEntries;
            long cqSize = io_cqring_offsets.cqes(cqOff) + CQE_SIZE * this.cqEntries;
            if (singleMmap) {
                mappedSq = Syscalls.mmapShared(fd, Math.max(sqSize, cqSize), fdkit_h.IORING_OFF_SQ_RING(), "IORING_OFF_SQ_RING");
                mappedCq = mappedSq;
            } else {
                mappedSq = Syscalls.mmapShared(fd, sqSize, fdkit_h.IORING_OFF_SQ_RING(), "IORING_OFF_SQ_RING");
                mappedCq = Syscalls.mmapShared(fd, cqSize, fdkit_h.IORING_OFF_CQ_RING(), "IORING_OFF_CQ_RING");
            }
            this.sqRing = mappedSq;
            this.cqRing = mappedCq;
            this.sqes = Syscalls.mmapShared(fd, SQE_SIZE * sqEntries, fdkit_h.IORING_OFF_SQES(), "IORING_OFF_SQES");
            this.sqeSlots = new MemorySegment[sqEntries];
            for (int i = 0; i < sqEntries; i++) sqeSlots[i] = sqes.asSlice(i * SQE_SIZE, SQE_SIZE);
            this.sqHead = io_sqring_offsets.head(sqOff);
            this.sqTail = io_sqring_offsets.tail(sqOff);
            this.sqFlags = io_sqring_offsets.flags(sqOff);
            this.sqArray = io_sqring_offsets.array(sqOff);
            this.sqMask = sqRing.get(JAVA_INT, io_sqring_offsets.ring_mask(sqOff));
            this.cqHead = io_cqring_offsets.head(cqOff);
            this.cqTail = io_cqring_offsets.tail(cqOff);
            this.cqes = io_cqring_offsets.cqes(cqOff);
            this.cqMask = cqRing.get(JAVA_INT, io_cqring_offsets.ring_mask(cqOff));
            this.localSqTail = (int) INT.getAcquire(sqRing, sqTail);
        } catch (SyscallException | RuntimeException e) {
            unmapQuietly(mappedSq);
            if (mappedCq != mappedSq) unmapQuietly(mappedCq);
            Syscalls.close(fd);
            throw e;
        }
    }

    public int fd() {
        return fd;
    }

    public int sqEntries() {
        return sqEntries;
    }

    public int cqEntries() {
        return cqEntries;
    }

    /** Whether the kernel keeps overflowed completions instead of dropping them (IORING_FEAT_NODROP). */
    public boolean noDrop() {
        return nodrop;
    }

    /** A zeroed SQE to fill with an {@link IoUringPrep} method, or null when the SQ is full (submit, then try again). */
    public MemorySegment nextSqe() {
        int head = (int) INT.getAcquire(sqRing, sqHead);
        if (localSqTail - head >= sqEntries) return null;
        int index = localSqTail & sqMask;
        MemorySegment sqe = sqeSlots[index];
        sqe.fill((byte) 0);
        sqRing.set(JAVA_INT, sqArray + SQ_ARRAY_ENTRY * index, index);
        localSqTail++;
        toSubmit++;
        return sqe;
    }

    /** Gives back the SQE the last {@link #nextSqe()} returned, before it is published: its op could not be prepared. */
    public void unclaimLastSqe() {
        if (toSubmit == 0) throw new IllegalStateException("no SQE claimed since the last submit");
        localSqTail--;
        toSubmit--;
    }

    /**
     * Withdraws every SQE the kernel has not consumed (after a failed io_uring_enter), so no later enter
     * submits it; returns how many. Sound without IORING_SETUP_SQPOLL, which fdkit never sets: the kernel
     * reads the SQ tail only inside an io_uring_enter that submits, and the caller serialises those.
     */
    public int withdrawUnsubmitted() {
        int head = (int) INT.getAcquire(sqRing, sqHead); // the kernel's consumption, committed before enter returned
        int withdrawn = localSqTail - head;
        localSqTail = head;
        toSubmit = 0;
        INT.setRelease(sqRing, sqTail, localSqTail);
        return withdrawn;
    }

    /** Publishes prepared SQEs (release) and enters the kernel; returns io_uring_enter's result ({@code -errno} on failure). */
    public int submit(int minComplete) {
        INT.setRelease(sqRing, sqTail, localSqTail);
        int flags = minComplete > 0 || cqOverflowPending() ? fdkit_h.IORING_ENTER_GETEVENTS() : 0;
        int r = Syscalls.ioUringEnterRaw(fd, toSubmit, minComplete, flags);
        if (r > 0) toSubmit -= r;
        return r;
    }

    /** SQEs prepared but not yet accepted by the kernel. */
    public int pending() {
        return toSubmit;
    }

    /**
     * Hands every available CQE to {@code handler} and frees its slot. With IORING_FEAT_NODROP the kernel
     * parks completions that found the CQ full and sets IORING_SQ_CQ_OVERFLOW; they are flushed into the
     * ring by io_uring_enter(GETEVENTS), and reaped here in the same call: no completion is lost.
     */
    public int reap(CqeHandler handler) {
        int reaped = 0;
        for (;;) {
            int head = (int) INT.getAcquire(cqRing, cqHead);
            int tail = (int) INT.getAcquire(cqRing, cqTail);
            while (head != tail) {
                long cqe = cqes + (long) (head & cqMask) * CQE_SIZE;
                long userData = cqRing.get(io_uring_cqe.user_data$layout(), cqe + io_uring_cqe.user_data$offset());
                int res = cqRing.get(io_uring_cqe.res$layout(), cqe + io_uring_cqe.res$offset());
                int flags = cqRing.get(io_uring_cqe.flags$layout(), cqe + io_uring_cqe.flags$offset());
                head++;
                INT.setRelease(cqRing, cqHead, head); // free the slot before running the handler
                reaped++;
                handler.onCqe(userData, res, flags);
            }
            if (!cqOverflowPending()) return reaped;
            overflowFlushes++;
            Syscalls.ioUringEnterRaw(fd, 0, 0, fdkit_h.IORING_ENTER_GETEVENTS()); // flush the overflow list, then reap again
        }
    }

    /** Per-operation scratch: room for a struct __kernel_timespec or a siginfo_t, whichever is larger, 8-aligned. */
    private static final long SCRATCH_BYTES = (Math.max(__kernel_timespec.layout().byteSize(), siginfo_t.layout().byteSize()) + 7) & ~7L;

    /** {@code count} scratch slots in one allocation, alive while a slice of it is reachable. */
    public static MemorySegment allocateScratch(int count) {
        return Arena.ofAuto().allocate(SCRATCH_BYTES * count, 8);
    }

    /** Scratch slot {@code index} of a chunk from {@link #allocateScratch}. */
    public static MemorySegment scratchSlot(MemorySegment chunk, int index) {
        return chunk.asSlice(SCRATCH_BYTES * index, SCRATCH_BYTES);
    }

    /** Writes a struct __kernel_timespec of {@code nanos} into {@code timespec}. */
    public static void timespec(MemorySegment timespec, long nanos) {
        __kernel_timespec.tv_sec(timespec, nanos / 1_000_000_000L);
        __kernel_timespec.tv_nsec(timespec, nanos % 1_000_000_000L);
    }

    /** How many times reap() has flushed completions the kernel kept when the CQ was full; read by the reaping thread. */
    public long overflowFlushes() {
        return overflowFlushes;
    }

    /** IORING_SQ_CQ_OVERFLOW: the kernel holds completions that did not fit in the CQ. */
    public boolean cqOverflowPending() {
        return ((int) INT.getAcquire(sqRing, sqFlags) & fdkit_h.IORING_SQ_CQ_OVERFLOW()) != 0;
    }

    @Override
    public void close() throws SyscallException {
        unmapQuietly(sqes);
        unmapQuietly(sqRing);
        if (cqRing != sqRing) unmapQuietly(cqRing);
        Syscalls.close(fd);
    }

    private static void unmapQuietly(MemorySegment mapping) {
        if (mapping == null) return;
        try {
            Syscalls.munmap(mapping);
        } catch (SyscallException ignored) {
            // nothing more to release
        }
    }
}
