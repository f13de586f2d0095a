package dev.fdkit;

import dev.fdkit.internal.Fd;
import dev.fdkit.internal.IoUringRing;
import dev.fdkit.internal.Syscalls;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Uring's in-flight table: one reusable slot per operation in flight, so submitting and completing allocate
 * nothing once the table is big enough (it doubles when full, and never shrinks).
 * <p>
 * A slot holds what the kernel still uses for its operation (the op, the descriptor use, per-slot scratch memory
 * for a timespec or siginfo, and lazily a futex_waitv array), the user's cookie and handler. The CQE's user_data
 * names the slot: {@code generation << 32 | index}, with a generation of 1 to 2^31-1 bumped at each release, so
 * user_data is always positive (negative values are free for Uring's own markers), never 0 (a cancel aimed at
 * user_data 0 finds nothing: -ENOENT), and a stale CQE never reaches the slot's next operation.
 * <p>
 * Cookies stay unique among operations in flight through an open-addressing cookie → slot table (linear probing,
 * at most half full, deletion by backward shift: no tombstones), sized with the slots.
 * <p>
 * Not thread-safe on its own: every method requires the caller to hold this object's monitor (a monitor, not a
 * lock object: contention inflates it outside the Java heap, so even a contended table allocates nothing).
 */
final class UringSlots {
    private static final int FREE = -1;

    private final IntFunction<Runnable> closeHooks;
    private long[] cookies;
    private Uring.CompletionHandler[] handlers;
    private Uring.Op[] ops;
    private Fd[] fds;
    private int[] numbers;
    private int[] generations;
    private int[] nextFree; // the free list; FREE ends it
    private Runnable[] hooks; // one close hook per slot, for the life of the table
    private MemorySegment[] scratch; // one slice per slot, of a chunk allocated with the slots
    private MemorySegment[] waitv; // futex_waitv arrays, allocated on a slot's first FutexWaitv
    private final List<MemorySegment> chunks = new ArrayList<>(); // grows with the table only
    private int freeHead = FREE;
    private int size;
    // cookie -> slot + 1 (0: empty)
    private long[] keys;
    private int[] values;

    UringSlots(int capacity, IntFunction<Runnable> closeHooks) {
        this.closeHooks = closeHooks;
        cookies = new long[0];
        handlers = new Uring.CompletionHandler[0];
        ops = new Uring.Op[0];
        fds = new Fd[0];
        numbers = new int[0];
        generations = new int[0];
        nextFree = new int[0];
        hooks = new Runnable[0];
        scratch = new MemorySegment[0];
        waitv = new MemorySegment[0];
        keys = new long[0];
        values = new int[0];
        grow(Math.max(1, capacity));
    }

    /**
     * Takes a free slot for {@code op}; returns its user_data, or 0 if {@code op.cookie()} is already in flight
     * (nothing is taken then).
     */
    long claim(Uring.Op op, Uring.CompletionHandler handler, Fd fd, int number) {
        long cookie = op.cookie();
        if (find(cookie) >= 0) return 0;
        if (freeHead == FREE) grow(cookies.length * 2);
        int slot = freeHead;
        freeHead = nextFree[slot];
        nextFree[slot] = FREE;
        cookies[slot] = cookie;
        handlers[slot] = handler;
        ops[slot] = op;
        fds[slot] = fd;
        numbers[slot] = number;
        if (op instanceof Uring.FutexWaitv && waitv[slot] == null) waitv[slot] = Syscalls.allocateFutexWaitv(Futex.MAX_WAITERS);
        put(cookie, slot);
        size++;
        return userData(slot);
    }

    /** The slot {@code userData} names while its operation is in flight, else -1 (a marker, a stale or foreign CQE). */
    int slotOf(long userData) {
        if (userData <= 0) return -1;
        int slot = (int) userData;
        if (slot < 0 || slot >= cookies.length || ops[slot] == null) return -1;
        return generations[slot] == (int) (userData >>> 32) ? slot : -1;
    }

    /** Frees the slot, dropping its references, and retires its user_data. */
    void release(int slot) {
        remove(cookies[slot]);
        handlers[slot] = null;
        ops[slot] = null;
        fds[slot] = null;
        numbers[slot] = -1;
        int g = generations[slot] + 1;
        generations[slot] = g <= 0 ? 1 : g;
        nextFree[slot] = freeHead;
        freeHead = slot;
        size--;
    }

    /** The user_data of the operation in flight with {@code cookie}, or 0 if none is (a cancel of 0 finds nothing). */
    long userDataOf(long cookie) {
        int slot = find(cookie);
        return slot < 0 ? 0 : userData(slot);
    }

    /** The slot of the operation in flight with {@code cookie}, or -1. */
    int slotOfCookie(long cookie) {
        return find(cookie);
    }

    int size() {
        return size;
    }

    /** Slots in the table, in flight or free: user_data index bound for a scan. */
    int capacity() {
        return cookies.length;
    }

    /** Whether {@code slot} holds an operation in flight. */
    boolean inUse(int slot) {
        return ops[slot] != null;
    }

    long userData(int slot) {
        return (long) generations[slot] << 32 | slot;
    }

    long cookie(int slot) {
        return cookies[slot];
    }

    Uring.CompletionHandler handler(int slot) {
        return handlers[slot];
    }

    Uring.Op op(int slot) {
        return ops[slot];
    }

    Fd fd(int slot) {
        return fds[slot];
    }

    int number(int slot) {
        return numbers[slot];
    }

    Runnable closeHook(int slot) {
        return hooks[slot];
    }

    /** Room for a struct __kernel_timespec or a siginfo_t, the slot's own for as long as the table lives. */
    MemorySegment scratch(int slot) {
        return scratch[slot];
    }

    /** {@link Futex#MAX_WAITERS} futex_waitv entries, allocated by {@link #claim} for a FutexWaitv. */
    MemorySegment waitv(int slot) {
        return waitv[slot];
    }

    /** Everything the kernel may still write to after a close that could not drain: kept for the JVM's life. */
    List<Object> memory() {
        List<Object> all = new ArrayList<>(chunks);
        for (MemorySegment w : waitv) if (w != null) all.add(w);
        return all;
    }

    private void grow(int capacity) {
        int old = cookies.length;
        cookies = Arrays.copyOf(cookies, capacity);
        handlers = Arrays.copyOf(handlers, capacity);
        ops = Arrays.copyOf(ops, capacity);
        fds = Arrays.copyOf(fds, capacity);
        numbers = Arrays.copyOf(numbers, capacity);
        generations = Arrays.copyOf(generations, capacity);
        nextFree = Arrays.copyOf(nextFree, capacity);
        hooks = Arrays.copyOf(hooks, capacity);
        scratch = Arrays.copyOf(scratch, capacity);
        waitv = Arrays.copyOf(waitv, capacity);
        MemorySegment chunk = IoUringRing.allocateScratch(capacity - old);
        chunks.add(chunk);
        for (int slot = capacity - 1; slot >= old; slot--) { // pushed in reverse: slot `old` is taken first
            generations[slot] = 1;
            numbers[slot] = -1;
            hooks[slot] = closeHooks.apply(slot);
            scratch[slot] = IoUringRing.scratchSlot(chunk, slot - old);
            nextFree[slot] = freeHead;
            freeHead = slot;
        }
        rehash(Integer.highestOneBit(capacity) * 4); // at most half full, a power of two
    }

    // ------------------------------------------------------------------ cookie -> slot, open addressing

    private int index(long cookie) {
        long h = cookie * 0x9E3779B97F4A7C15L; // Fibonacci hashing: sequential cookies spread over the table
        return (int) (h ^ h >>> 32) & (keys.length - 1);
    }

    private int find(long cookie) {
        for (int i = index(cookie); ; i = (i + 1) & (keys.length - 1)) {
            if (values[i] == 0) return -1;
            if (keys[i] == cookie) return values[i] - 1;
        }
    }

    private void put(long cookie, int slot) {
        int i = index(cookie);
        while (values[i] != 0) i = (i + 1) & (keys.length - 1);
        keys[i] = cookie;
        values[i] = slot + 1;
    }

    /** Linear-probing deletion by backward shift: later entries of the run move into the hole. */
    private void remove(long cookie) {
        int mask = keys.length - 1;
        int hole = index(cookie);
        while (keys[hole] != cookie || values[hole] == 0) {
            if (values[hole] == 0) return;
            hole = (hole + 1) & mask;
        }
        for (int i = (hole + 1) & mask; values[i] != 0; i = (i + 1) & mask) {
            int home = index(keys[i]);
            // the entry at i may fill the hole unless its home lies cyclically in (hole, i]
            if (((i - home) & mask) >= ((i - hole) & mask)) {
                keys[hole] = keys[i];
                values[hole] = values[i];
                hole = i;
            }
        }
        values[hole] = 0;
    }

    private void rehash(int tableSize) {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[tableSize];
        values = new int[tableSize];
        for (int i = 0; i < oldKeys.length; i++) if (oldValues[i] != 0) put(oldKeys[i], oldValues[i] - 1);
    }
}
