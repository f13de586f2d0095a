package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Errno;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A futex: a 4-byte-aligned 32-bit word in native memory that threads — or processes sharing the memory
 * — wait on and wake through futex(2).
 * <p>
 * {@link #privateWord} is for ordinary memory used within this process (FUTEX_PRIVATE_FLAG, the faster
 * kernel path). {@link #sharedWord} is for MAP_SHARED memory — a file mapped with
 * {@code FileChannel.map(READ_WRITE, ..., arena)} or memory handed to a child — so two JVMs, or a JVM and a
 * C program, wait and wake each other.
 * <p>
 * Every argument is checked before any syscall: the segment must be native, writable, alive, and hold the
 * word at a 4-byte-aligned address, so no EFAULT ever reaches the kernel.
 * <p>
 * <b>Closing the memory during a wait</b>: a futex(2) call takes the word as a segment, so while a thread
 * blocks in one the word's arena cannot be closed ({@code Arena.close()} throws IllegalStateException).
 * Two waits hand the kernel only the word's address, and for them closing the arena is <em>not</em> refused:
 * {@link #awaitAny} (futex_waitv reads the addresses from its entry array) and {@link #await(int)} /
 * {@link #await(int, Duration)} on a virtual thread that waits through io_uring (below). The kernel would
 * then keep waiting on memory that is gone. FFM can keep an arena open across a call only while a native
 * call is running, and a native call that lasts as long as the wait would pin the carrier this path exists
 * to free; so keep the memory open until those waits return.
 * <p>
 * <b>Blocking and virtual threads</b>: {@link #await(int)} and {@link #await(int, Duration)} called on a
 * virtual thread wait through io_uring (IORING_OP_FUTEX_WAIT, Linux 6.7) when it is available: the kernel
 * waits and the virtual thread parks in Java, pinning no carrier. Otherwise — and always for the deadline,
 * bitset and multi-futex waits — the thread blocks in futex(2), which pins a virtual thread's carrier.
 */
public final class Futex {
    /** Which clock an absolute deadline is measured on. */
    public enum Clock {
        /** CLOCK_MONOTONIC: the clock of {@link System#nanoTime()} on Linux. */
        MONOTONIC,
        /** CLOCK_REALTIME: wall-clock time, nanoseconds since the epoch. */
        REALTIME
    }

    /** How a wait ended. */
    public enum WaitResult {
        /** Woken by a wake call (or spuriously, by a signal: re-check the word). */
        WOKEN,
        /** The word did not hold the expected value: the wait did not start (EAGAIN). */
        VALUE_MISMATCH,
        /** The timeout or deadline passed. */
        TIMED_OUT
    }

    /**
     * Result of {@link #awaitAny}: which futex woke the caller.
     *
     * @param result how the wait ended
     * @param index  the position in the list of the futex that was woken; -1 unless {@code result} is WOKEN
     */
    public record Woken(WaitResult result, int index) {}

    /** The most futexes one {@link #awaitAny} can wait on (FUTEX_WAITV_MAX). */
    public static final int MAX_WAITERS = Uapi.FUTEX_WAITV_MAX;

    private static final VarHandle INT = JAVA_INT.varHandle();
    private static final int WAIT = Uapi.FUTEX_WAIT;
    private static final int WAKE = Uapi.FUTEX_WAKE;

    private final MemorySegment word;
    private final boolean shared;
    private final int privateFlag;

    private Futex(MemorySegment memory, long offset, boolean shared) {
        Objects.requireNonNull(memory, "memory");
        if (!memory.isNative()) throw new IllegalArgumentException("memory must be a native segment (heap memory moves), was " + memory);
        if (memory.isReadOnly()) throw new IllegalArgumentException("memory must be writable, was read-only");
        if (!memory.scope().isAlive()) throw new IllegalStateException("memory is already closed");
        if (offset < 0 || offset > memory.byteSize() - 4) {
            throw new IllegalArgumentException("offset must leave 4 bytes in a segment of " + memory.byteSize() + " bytes, was " + offset);
        }
        if ((memory.address() + offset) % 4 != 0) {
            throw new IllegalArgumentException("offset must put the word at a 4-byte aligned address: memory at 0x" + Long.toHexString(memory.address())
                    + " + offset " + offset + " is not");
        }
        this.word = memory.asSlice(offset, 4);
        this.shared = shared;
        this.privateFlag = shared ? 0 : Uapi.FUTEX_PRIVATE_FLAG;
    }

    /**
     * A process-private futex at {@code offset} in {@code memory}.
     *
     * @param memory a native, writable, alive segment holding the word
     * @param offset the word's byte offset in {@code memory}: 4 bytes must fit, at a 4-byte-aligned address
     * @return a futex on that word; it does not own the memory
     * @throws IllegalArgumentException if the segment is on the heap or read-only, or the offset is out of
     *                                  bounds or misaligned
     * @throws IllegalStateException    if the segment's arena is already closed
     */
    public static Futex privateWord(MemorySegment memory, long offset) {
        return new Futex(memory, offset, false);
    }

    /**
     * A futex other processes mapping the same memory can wait on and wake.
     *
     * @param memory a native, writable, alive segment holding the word, normally MAP_SHARED
     * @param offset the word's byte offset in {@code memory}: 4 bytes must fit, at a 4-byte-aligned address
     * @return a futex on that word; it does not own the memory
     * @throws IllegalArgumentException if the segment is on the heap or read-only, or the offset is out of
     *                                  bounds or misaligned
     * @throws IllegalStateException    if the segment's arena is already closed
     */
    public static Futex sharedWord(MemorySegment memory, long offset) {
        return new Futex(memory, offset, true);
    }

    /**
     * Whether waits and wakes reach other processes.
     *
     * @return true for {@link #sharedWord}, false for {@link #privateWord} (FUTEX_PRIVATE_FLAG)
     */
    public boolean isShared() {
        return shared;
    }

    /**
     * The 4-byte segment holding the word.
     *
     * @return a slice of the memory given at creation, alive as long as that memory is
     */
    public MemorySegment word() {
        return word;
    }

    /**
     * Volatile read of the word.
     *
     * @return the word's current value
     */
    public int get() {
        return (int) INT.getVolatile(word, 0L);
    }

    /**
     * Volatile write of the word (wakes nobody: call {@link #wake}).
     *
     * @param value the new value
     */
    public void set(int value) {
        INT.setVolatile(word, 0L, value);
    }

    /**
     * Atomically sets the word to {@code value} if it holds {@code expected} (wakes nobody).
     *
     * @param expected the value the word must hold
     * @param value    the new value
     * @return true if the word held {@code expected} and was set
     */
    public boolean compareAndSet(int expected, int value) {
        return INT.compareAndSet(word, 0L, expected, value);
    }

    /**
     * Atomically adds {@code delta} to the word, wrapping around on overflow (wakes nobody).
     *
     * @param delta the amount to add, possibly negative
     * @return the value before the addition
     */
    public int getAndAdd(int delta) {
        return (int) INT.getAndAdd(word, 0L, delta);
    }

    // ------------------------------------------------------------------ waiting

    /**
     * Waits while the word holds {@code expected}, with no timeout.
     *
     * @param expected the value the word must hold for the wait to start
     * @return WOKEN (re-check the word: wake-ups may be spurious) or VALUE_MISMATCH
     * @throws UncheckedIOException  if the wait fails otherwise, with the failure (an ErrnoException) as its cause
     */
    public WaitResult await(int expected) {
        SharedLoop.beforeBlocking();
        Uring uring = uringForThisThread();
        if (uring != null) return awaitThroughUring(uring, expected, -1);
        return waitResult(Syscalls.futexRaw(word, WAIT | privateFlag, expected, MemorySegment.NULL, MemorySegment.NULL, 0), "FUTEX_WAIT");
    }

    /**
     * Waits while the word holds {@code expected}, at most {@code timeout} (measured on CLOCK_MONOTONIC); a zero
     * or negative timeout does not wait (TIMED_OUT, or VALUE_MISMATCH).
     *
     * @param expected the value the word must hold for the wait to start
     * @param timeout  how long to wait at most; not null
     * @return how the wait ended
     * @throws UncheckedIOException  if the wait fails otherwise, with the failure (an ErrnoException) as its cause
     */
    public WaitResult await(int expected, Duration timeout) {
        long nanos = Durations.timeoutNanos(timeout, "timeout");
        SharedLoop.beforeBlocking();
        Uring uring = uringForThisThread();
        if (uring != null) return awaitThroughUring(uring, expected, nanos);
        return waitResult(Syscalls.futexRaw(word, WAIT | privateFlag, expected, Syscalls.futexTimeout(nanos), MemorySegment.NULL, 0), "FUTEX_WAIT");
    }

    /**
     * Waits while the word holds {@code expected}, until an absolute deadline (FUTEX_WAIT_BITSET).
     *
     * @param expected the value the word must hold for the wait to start
     * @param deadlineNanos nanoseconds on {@code clock}: a {@link System#nanoTime()} value for MONOTONIC,
     *                      nanoseconds since the epoch for REALTIME
     * @param clock         the clock of the deadline; not null
     * @return how the wait ended
     * @throws IllegalArgumentException if {@code deadlineNanos} is negative
     */
    public WaitResult awaitUntil(int expected, long deadlineNanos, Clock clock) {
        // awaitBitset reads a null clock as "no deadline": here that would wait for ever, past the deadline given
        Objects.requireNonNull(clock, "clock");
        return awaitBitset(expected, Uapi.FUTEX_BITSET_MATCH_ANY, deadlineNanos, clock);
    }

    /**
     * {@link #awaitUntil(int, long, Clock)} for a wall-clock deadline.
     *
     * @param expected the value the word must hold for the wait to start
     * @param deadline when to give up, on CLOCK_REALTIME; not null
     * @return how the wait ended
     * @throws IllegalArgumentException if {@code deadline} is before the epoch (CLOCK_REALTIME starts there)
     */
    public WaitResult awaitUntil(int expected, Instant deadline) {
        Objects.requireNonNull(deadline, "deadline");
        if (deadline.isBefore(Instant.EPOCH)) throw new IllegalArgumentException("deadline must not be before the epoch, was " + deadline);
        // Past year 2262 the nanoseconds saturate at Long.MAX_VALUE, beyond any kernel timer: Instant.MAX waits until woken.
        long nanos = Durations.timeoutNanos(Duration.between(Instant.EPOCH, deadline), "deadline");
        return awaitUntil(expected, nanos, Clock.REALTIME);
    }

    /**
     * Waits while the word holds {@code expected}, to be woken only by {@link #wakeBitset} calls whose bitset
     * shares a bit with {@code bitset}; until {@code deadlineNanos} on {@code clock}, or forever if
     * {@code clock} is null.
     *
     * @param expected the value the word must hold for the wait to start
     * @param bitset        the wake bits this waiter listens to; not 0
     * @param deadlineNanos when to give up, on {@code clock}; ignored when {@code clock} is null
     * @param clock         the clock of the deadline, or null for no deadline
     * @return how the wait ended
     * @throws IllegalArgumentException if {@code bitset} is 0, or a deadline is given and is negative
     */
    public WaitResult awaitBitset(int expected, int bitset, long deadlineNanos, Clock clock) {
        if (bitset == 0) throw new IllegalArgumentException("bitset must not be 0");
        if (clock != null && deadlineNanos < 0) throw new IllegalArgumentException("deadlineNanos must not be negative, was " + deadlineNanos);
        int op = Uapi.FUTEX_WAIT_BITSET | privateFlag | (clock == Clock.REALTIME ? Uapi.FUTEX_CLOCK_REALTIME : 0);
        MemorySegment timeout = clock == null ? MemorySegment.NULL : Syscalls.futexTimeout(deadlineNanos);
        SharedLoop.beforeBlocking();
        return waitResult(Syscalls.futexRaw(word, op, expected, timeout, MemorySegment.NULL, bitset), "FUTEX_WAIT_BITSET");
    }

    /**
     * Waits on up to 128 ({@link #MAX_WAITERS}) futexes at once (futex_waitv, Linux 5.16): returns when any
     * is woken, when one does not hold its expected value, or after {@code timeout} (null: no timeout; zero or
     * negative: does not wait).
     *
     * @param futexes  1 to {@link #MAX_WAITERS} futexes, each with alive memory
     * @param expected the value each futex must hold, one per futex, in the same order
     * @param timeout  how long to wait at most, or null for no timeout
     * @return how the wait ended and, when woken, which futex woke it
     * @throws IllegalArgumentException      if the list is empty or too long, or the array's length differs
     * @throws IllegalStateException         if a futex's memory is closed
     * @throws UnsupportedOperationException without futex_waitv (Linux older than 5.16, or seccomp)
     */
    public static Woken awaitAny(List<Futex> futexes, int[] expected, Duration timeout) {
        Objects.requireNonNull(futexes, "futexes");
        Objects.requireNonNull(expected, "expected");
        checkWaitv(futexes, expected);
        long deadline = timeout == null ? -1 : Durations.deadline(System.nanoTime(), Durations.timeoutNanos(timeout, "timeout"));
        if (!Linux.has(Feature.FUTEX_WAITV)) throw new UnsupportedOperationException("futex_waitv: " + Linux.feature(Feature.FUTEX_WAITV).cause());
        MemorySegment entries = fillWaitv(Syscalls.futexWaitvEntries(), futexes, expected);
        SharedLoop.beforeBlocking();
        for (;;) {
            long r = Syscalls.futexWaitvRaw(entries, futexes.size(), Syscalls.futexTimeout(deadline), Uapi.CLOCK_MONOTONIC);
            if (r >= 0) return new Woken(WaitResult.WOKEN, (int) r);
            if (r == -Errno.EAGAIN) return new Woken(WaitResult.VALUE_MISMATCH, -1);
            if (r == -Errno.ETIMEDOUT) return new Woken(WaitResult.TIMED_OUT, -1);
            throw ErrnoException.unchecked(new SyscallException("futex_waitv", "nr_futexes=" + futexes.size(), (int) -r));
        }
    }

    // ------------------------------------------------------------------ waking

    /**
     * Wakes at most {@code count} waiters.
     *
     * @param count the most waiters to wake, at least 1
     * @return how many were woken
     * @throws IllegalArgumentException if {@code count} is less than 1
     */
    public int wake(int count) {
        if (count < 1) throw new IllegalArgumentException("count must be at least 1, was " + count);
        return (int) check(Syscalls.futexRaw(word, WAKE | privateFlag, count, MemorySegment.NULL, MemorySegment.NULL, 0), "FUTEX_WAKE");
    }

    /**
     * Wakes every waiter.
     *
     * @return how many were woken
     */
    public int wakeAll() {
        return wake(Integer.MAX_VALUE);
    }

    /**
     * Wakes at most {@code count} waiters whose wait bitset shares a bit with {@code bitset}.
     *
     * @param count  the most waiters to wake, at least 1
     * @param bitset the bits to match against each waiter's; not 0
     * @return how many were woken
     * @throws IllegalArgumentException if {@code count} is less than 1 or {@code bitset} is 0
     */
    public int wakeBitset(int count, int bitset) {
        if (count < 1) throw new IllegalArgumentException("count must be at least 1, was " + count);
        if (bitset == 0) throw new IllegalArgumentException("bitset must not be 0");
        return (int) check(Syscalls.futexRaw(word, Uapi.FUTEX_WAKE_BITSET | privateFlag, count, MemorySegment.NULL, MemorySegment.NULL, bitset),
                "FUTEX_WAKE_BITSET");
    }

    /**
     * FUTEX_CMP_REQUEUE: if this word still holds {@code expected}, wakes up to {@code wakeCount} waiters and
     * moves up to {@code requeueCount} others to wait on {@code target}.
     *
     * @param expected     the value this word must still hold
     * @param wakeCount    the most waiters to wake, 0 or more
     * @param requeueCount the most waiters to move to {@code target}, 0 or more
     * @param target       the futex to move them to; shared exactly when this one is
     * @return woken plus requeued, or -1 if the word no longer held {@code expected} (nothing was done)
     * @throws IllegalArgumentException if a count is negative, or {@code target} differs in sharing
     */
    public int requeue(int expected, int wakeCount, int requeueCount, Futex target) {
        Objects.requireNonNull(target, "target");
        if (wakeCount < 0 || requeueCount < 0) throw new IllegalArgumentException("wakeCount and requeueCount must not be negative");
        if (target.shared != shared) throw new IllegalArgumentException("target must be shared exactly when this futex is");
        // The timeout argument slot carries val2 (the requeue count) for this operation.
        long r = Syscalls.futexRaw(word, Uapi.FUTEX_CMP_REQUEUE | privateFlag, wakeCount, MemorySegment.ofAddress(requeueCount),
                target.word, expected);
        if (r == -Errno.EAGAIN) return -1;
        return (int) check(r, "FUTEX_CMP_REQUEUE");
    }

    @Override
    public String toString() {
        return "Futex(" + (shared ? "shared" : "private") + ", 0x" + Long.toHexString(word.address()) + ")";
    }

    // ------------------------------------------------------------------ helpers

    /** The argument rules of a multi-futex wait (futex_waitv, or io_uring's FUTEX_WAITV). */
    static void checkWaitv(List<Futex> futexes, int[] expected) {
        if (futexes.isEmpty() || futexes.size() > MAX_WAITERS) {
            throw new IllegalArgumentException("futexes must hold 1 to " + MAX_WAITERS + " words, held " + futexes.size());
        }
        if (expected.length != futexes.size()) {
            throw new IllegalArgumentException("expected must have one value per futex: " + expected.length + " values for " + futexes.size() + " futexes");
        }
        for (int i = 0; i < futexes.size(); i++) {
            Futex f = futexes.get(i);
            if (f == null) throw new NullPointerException("futexes[" + i + "]"); // built only when thrown: Uring checks every FutexWaitv
            if (!f.word.scope().isAlive()) throw new IllegalStateException("futexes[" + i + "]: memory is already closed");
        }
    }

    /** Writes one struct futex_waitv per word into {@code entries}. */
    static MemorySegment fillWaitv(MemorySegment entries, List<Futex> futexes, int[] expected) {
        for (int i = 0; i < futexes.size(); i++) {
            Syscalls.futexWaitvEntry(entries, i, Integer.toUnsignedLong(expected[i]), futexes.get(i).word.address(), futexes.get(i).futex2Flags());
        }
        return entries;
    }

    /** The futex2 flags (futex_waitv, io_uring futex ops) for this word: 32-bit, private unless shared. */
    int futex2Flags() {
        return Uapi.FUTEX2_SIZE_U32 | (shared ? 0 : Uapi.FUTEX2_PRIVATE);
    }

    /**
     * The shared Uring for a wait on a virtual thread, which then parks instead of pinning its carrier; null
     * on a platform thread, without io_uring futex ops, or when the shared ring cannot be opened now (EMFILE,
     * eventfd or epoll refused): futex(2), which needs no descriptor, waits instead.
     */
    private static Uring uringForThisThread() {
        if (!Thread.currentThread().isVirtual() || !Linux.has(Feature.IO_URING_FUTEX)) return null;
        try {
            return Uring.shared();
        } catch (UncheckedIOException e) {
            return null;
        }
    }

    /**
     * The kernel waits (IORING_OP_FUTEX_WAIT on the shared Uring) while this virtual thread parks. A timeout
     * or an interrupt cancels the operation; a wake that wins the race with the cancel still counts.
     */
    private WaitResult awaitThroughUring(Uring uring, int expected, long timeoutNanos) {
        long cookie = uring.nextCookie();
        CompletableFuture<Completion> wait = uring.submit(new Uring.FutexWait(this, expected, cookie));
        try {
            return uringResult(timeoutNanos < 0 ? wait.get() : wait.get(timeoutNanos, TimeUnit.NANOSECONDS), WaitResult.WOKEN);
        } catch (TimeoutException e) {
            uring.cancel(cookie);
            return uringResult(wait.join(), WaitResult.TIMED_OUT);
        } catch (InterruptedException e) {
            uring.cancel(cookie);
            Thread.currentThread().interrupt();
            return uringResult(wait.join(), WaitResult.WOKEN); // a spurious wake-up: callers re-check the word
        } catch (ExecutionException e) { // awaitFutex fails with the ErrnoException alone
            throw new UncheckedIOException((ErrnoException) e.getCause());
        }
    }

    private static WaitResult uringResult(Completion completion, WaitResult ifCancelled) {
        long res = completion.res();
        if (res == -Errno.ECANCELED) return ifCancelled;
        return waitResult(res, "IORING_OP_FUTEX_WAIT");
    }

    private static WaitResult waitResult(long r, String op) {
        if (r >= 0) return WaitResult.WOKEN;
        if (r == -Errno.EAGAIN) return WaitResult.VALUE_MISMATCH;
        if (r == -Errno.ETIMEDOUT) return WaitResult.TIMED_OUT;
        throw ErrnoException.unchecked(new SyscallException("futex", op, (int) -r));
    }

    private static long check(long r, String op) {
        if (r >= 0) return r;
        throw ErrnoException.unchecked(new SyscallException("futex", op, (int) -r));
    }
}
