package dev.fdkit.internal;

import dev.fdkit.internal.linux.fdkit_h;
import dev.fdkit.internal.linux.io_uring_sqe;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

/**
 * The SQE encoding of each io_uring operation fdkit submits: one method per opcode, setting exactly the
 * fields liburing's {@code io_uring_prep_*} function of the same name sets (src/include/liburing.h), through
 * the generated {@code io_uring_sqe} layout. Each takes an SQE as {@link IoUringRing#nextSqe()} returns it,
 * zeroed, as liburing's {@code io_uring_get_sqe} does.
 * <p>
 * The installed kernel headers (6.1) predate the {@code waitid_flags} and {@code futex_flags} members (6.7):
 * both are the 32-bit op-flags union at offset 28, which the generated layout names {@code rw_flags}.
 * IoUringPrepTest compares each method's SQE bytes with those of its liburing counterpart, restated in C.
 */
public final class IoUringPrep {
    private IoUringPrep() {}

    private static final boolean BIG_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN;

    /** io_uring_sqe_set_data64: the value the operation's CQEs carry. */
    public static void setData64(MemorySegment sqe, long userData) {
        io_uring_sqe.user_data(sqe, userData);
    }

    /** io_uring_prep_nop. */
    public static void prepNop(MemorySegment sqe) {
        prepRw(fdkit_h.IORING_OP_NOP(), sqe, -1, 0, 0, 0);
    }

    /** io_uring_prep_poll_add: one completion, with the ready events of {@code pollMask} (POLLIN...). */
    public static void prepPollAdd(MemorySegment sqe, int fd, int pollMask) {
        prepRw(fdkit_h.IORING_OP_POLL_ADD(), sqe, fd, 0, 0, 0);
        // The kernel reads the mask as two 16-bit halves: swapped on big-endian machines (liburing's __swahw32).
        io_uring_sqe.poll32_events(sqe, BIG_ENDIAN ? Integer.rotateLeft(pollMask, 16) : pollMask);
    }

    /** io_uring_prep_poll_multishot: a completion each time {@code fd} becomes ready, flagged IORING_CQE_F_MORE until the last. */
    public static void prepPollMultishot(MemorySegment sqe, int fd, int pollMask) {
        prepPollAdd(sqe, fd, pollMask);
        io_uring_sqe.len(sqe, fdkit_h.IORING_POLL_ADD_MULTI());
    }

    /** io_uring_prep_read: up to {@code nbytes} into {@code buf}, at {@code offset} (-1: the file position). */
    public static void prepRead(MemorySegment sqe, int fd, MemorySegment buf, int nbytes, long offset) {
        prepRw(fdkit_h.IORING_OP_READ(), sqe, fd, buf.address(), nbytes, offset);
    }

    /** io_uring_prep_timeout: completes after {@code ts} (a struct __kernel_timespec), or after {@code count} completions if not 0. */
    public static void prepTimeout(MemorySegment sqe, MemorySegment ts, int count, int flags) {
        prepRw(fdkit_h.IORING_OP_TIMEOUT(), sqe, -1, ts.address(), 1, Integer.toUnsignedLong(count));
        io_uring_sqe.timeout_flags(sqe, flags);
    }

    /** io_uring_prep_cancel64: cancels the operation with {@code userData} (or, with IORING_ASYNC_CANCEL_ANY, every one). */
    public static void prepCancel64(MemorySegment sqe, long userData, int flags) {
        prepRw(fdkit_h.IORING_OP_ASYNC_CANCEL(), sqe, -1, 0, 0, 0);
        io_uring_sqe.addr(sqe, userData);
        io_uring_sqe.cancel_flags(sqe, flags);
    }

    /** io_uring_prep_waitid (Linux 6.7): waitid(idtype, id, infop, options), infop a siginfo_t. */
    public static void prepWaitid(MemorySegment sqe, int idtype, int id, MemorySegment infop, int options, int flags) {
        prepRw(fdkit_h.FDKIT_IORING_OP_WAITID(), sqe, id, 0, idtype, 0);
        io_uring_sqe.rw_flags(sqe, flags); // waitid_flags
        io_uring_sqe.file_index(sqe, options);
        io_uring_sqe.addr2(sqe, infop.address());
    }

    /** io_uring_prep_futex_wait (Linux 6.7): waits while the word at {@code futex} holds {@code val}; futex2 flags (FUTEX2_SIZE_U32...). */
    public static void prepFutexWait(MemorySegment sqe, MemorySegment futex, long val, long mask, int futexFlags, int flags) {
        prepFutex(fdkit_h.FDKIT_IORING_OP_FUTEX_WAIT(), sqe, futex, val, mask, futexFlags, flags);
    }

    /** io_uring_prep_futex_wake (Linux 6.7): wakes up to {@code val} waiters on the word at {@code futex}. */
    public static void prepFutexWake(MemorySegment sqe, MemorySegment futex, long val, long mask, int futexFlags, int flags) {
        prepFutex(fdkit_h.FDKIT_IORING_OP_FUTEX_WAKE(), sqe, futex, val, mask, futexFlags, flags);
    }

    /** io_uring_prep_futex_waitv (Linux 6.7): waits on {@code nrFutex} struct futex_waitv entries at {@code futexv}. */
    public static void prepFutexWaitv(MemorySegment sqe, MemorySegment futexv, int nrFutex, int flags) {
        prepRw(fdkit_h.FDKIT_IORING_OP_FUTEX_WAITV(), sqe, 0, futexv.address(), nrFutex, 0);
        io_uring_sqe.rw_flags(sqe, flags); // futex_flags
    }

    private static void prepFutex(int op, MemorySegment sqe, MemorySegment futex, long val, long mask, int futexFlags, int flags) {
        prepRw(op, sqe, futexFlags, futex.address(), 0, val);
        io_uring_sqe.rw_flags(sqe, flags); // futex_flags
        io_uring_sqe.addr3(sqe, mask);
    }

    /** io_uring_prep_rw: the fields every operation sets. */
    private static void prepRw(int op, MemorySegment sqe, int fd, long addr, int len, long offset) {
        io_uring_sqe.opcode(sqe, (byte) op);
        io_uring_sqe.fd(sqe, fd);
        io_uring_sqe.off(sqe, offset);
        io_uring_sqe.addr(sqe, addr);
        io_uring_sqe.len(sqe, len);
    }
}
