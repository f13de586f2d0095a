package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Errno;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.IoUringPrep;
import dev.fdkit.internal.IoUringRing;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * io_uring in pure Java: the kernel waits — for process exits (WAITID), futexes (FUTEX_WAIT/WAKE/WAITV),
 * readiness (POLL_ADD), eventfd reads (READ), timeouts — and posts each result to the completion queue.
 * <p>
 * Every {@link Op} carries a cookie, unique among the operations in flight; its result comes back as a
 * {@link Completion}: {@code cookie}, {@code obj} = the opcode, {@code res} = the CQE result (negative errno
 * on failure), {@code res2} = the CQE flags. {@link #submit(Op)} returns a future for it;
 * {@link #submit(Op, Consumer)} hands every completion of a multishot operation to a consumer;
 * {@link #submitAll(List)} submits a batch with one io_uring_enter. These allocate a future per operation;
 * {@link #submitWith(Op, CompletionHandler)} allocates nothing: it reports {@code (cookie, res, flags)} to a
 * handler, the operation travelling in a reusable slot whose index and generation are the CQE's user_data.
 * <p>
 * The ring's descriptor is watched by a {@link Poller} (the shared one unless you pass yours), whose thread
 * reaps completions and completes the futures; {@link #fd()} exposes it for a host event loop. A ring from
 * {@link #openUnwatched(int)} has no poller: its owner reaps, and the kernel wakes nobody per completion. A full
 * completion queue loses nothing (IORING_FEAT_NODROP; the overflow is flushed while reaping, and the ring
 * descriptor stays readable while the kernel holds overflowed completions).
 * <p>
 * Submission is thread-safe. {@link #close()} cancels what is in flight and fails those futures with an
 * IOException. Where io_uring is unavailable (kernel, {@code kernel.io_uring_disabled}, seccomp) {@link #open}
 * throws UnsupportedOperationException with the probe's cause, and fdkit's own blocking methods use their
 * epoll/poller paths.
 * <p>
 * Why this class is long (about 1,000 lines, a third of them documentation): its one job is the object model of a
 * ring, and that model's public API is the nine op records, each with its rules, plus the three ways to submit
 * (future, consumer, allocation-free handler); the slots, SQE preparation and ring memory are in UringSlots,
 * IoUringPrep and IoUringRing.
 */
public final class Uring implements Pollable, AutoCloseable {

    /** An operation to submit. */
    public sealed interface Op permits Nop, PollAdd, Read, Timeout, Cancel, Waitid, FutexWait, FutexWake, FutexWaitv {
        /**
         * Identifies the operation's completions; unique among operations in flight.
         *
         * @return the cookie every {@link Completion} of this operation carries
         */
        long cookie();
    }

    /**
     * IORING_OP_NOP: completes at once with res 0.
     *
     * @param cookie returned in the completion; unique among operations in flight, not Long.MIN_VALUE (reserved)
     */
    public record Nop(long cookie) implements Op {}

    /**
     * IORING_OP_POLL_ADD on {@code target} for Poller.READABLE / WRITABLE / HANGUP; res is the ready poll mask.
     *
     * @param target    the open descriptor to watch; a use of it is held until the last completion
     * @param events    Poller.READABLE, WRITABLE and/or HANGUP
     * @param multishot true to keep reporting (IORING_POLL_ADD_MULTI, use {@link #submit(Op, Consumer)}), false for one report
     * @param cookie    returned in each completion; unique among operations in flight, not Long.MIN_VALUE (reserved)
     */
    public record PollAdd(Pollable target, int events, boolean multishot, long cookie) implements Op {}

    /**
     * IORING_OP_READ into {@code buffer} (native memory, alive until completion); res is the byte count.
     *
     * @param target the open descriptor to read; a use of it is held until completion
     * @param buffer where the kernel writes, up to its size (at most 2^31-1 bytes); keep its arena open until completion
     * @param cookie returned in the completion; unique among operations in flight, not Long.MIN_VALUE (reserved)
     */
    public record Read(Pollable target, MemorySegment buffer, long cookie) implements Op {}

    /**
     * IORING_OP_TIMEOUT: completes with res -ETIME after {@code after}, or -ECANCELED. A negative {@code after}
     * is zero (expires at once); one beyond Long.MAX_VALUE nanoseconds (292 years) is that long: in effect, until
     * cancelled.
     *
     * @param after  how long until it expires; not null
     * @param cookie returned in the completion; unique among operations in flight, not Long.MIN_VALUE (reserved)
     */
    public record Timeout(Duration after, long cookie) implements Op {}

    /**
     * IORING_OP_ASYNC_CANCEL of the operation with {@code targetCookie}: res -ENOENT or -EALREADY, else not
     * negative — 0, or for a FUTEX_* or WAITID target the number cancelled (1).
     *
     * @param targetCookie the cookie of the operation to cancel
     * @param cookie       the cancel's own cookie, returned in its completion; unique among operations in flight
     */
    public record Cancel(long targetCookie, long cookie) implements Op {}

    /**
     * IORING_OP_WAITID (Linux 6.7) on a process's pidfd; res 0 once it has exited. With {@code reap} the
     * kernel reaps the child; fdkit's own children are reaped by their ProcessDescriptor, which keeps their
     * status, so for them {@code reap = true} is refused (IllegalArgumentException at submit) and
     * {@code reap = false} (WNOWAIT) is the way. Even then the descriptor's reaper, woken by the same exit, may reap
     * the child before io_uring re-checks it: res is then -ECHILD, which for an fdkit child also means
     * "exited" ({@link #exitOf} handles it).
     *
     * @param process the process to wait for; its pidfd must be open
     * @param reap    true to let the kernel reap the child (not for fdkit's own children), false for WNOWAIT
     * @param cookie  returned in the completion; unique among operations in flight, not Long.MIN_VALUE (reserved)
     */
    public record Waitid(ProcessDescriptor process, boolean reap, long cookie) implements Op {}

    /**
     * IORING_OP_FUTEX_WAIT (Linux 6.7): res 0 when woken, -EAGAIN if the word did not hold {@code expected}.
     *
     * @param futex    the word to wait on; keep its memory open until completion
     * @param expected the value the word must hold for the wait to start
     * @param cookie   returned in the completion; unique among operations in flight, not Long.MIN_VALUE (reserved)
     */
    public record FutexWait(Futex futex, int expected, long cookie) implements Op {}

    /**
     * IORING_OP_FUTEX_WAKE (Linux 6.7): res is the number of waiters woken.
     *
     * @param futex  the word whose waiters to wake
     * @param count  the most waiters to wake
     * @param cookie returned in the completion; unique among operations in flight, not Long.MIN_VALUE (reserved)
     */
    public record FutexWake(Futex futex, int count, long cookie) implements Op {}

    /**
     * IORING_OP_FUTEX_WAITV (Linux 6.7): res is the index of the futex that woke.
     *
     * @param futexes  1 to {@link Futex#MAX_WAITERS} words; keep their memory open until completion
     * @param expected the value each word must hold, one per futex, in the same order
     * @param cookie   returned in the completion; unique among operations in flight, not Long.MIN_VALUE (reserved)
     */
    public record FutexWaitv(List<Futex> futexes, int[] expected, long cookie) implements Op {}

    /**
     * Receives the completions of the operations submitted with {@link #submitWith(Op, CompletionHandler)}, on
     * the reaping thread (the poller's, or whichever calls {@link #reap()}). Its parameters are primitives, and
     * the slot that carried the operation is free again before it is called: nothing is allocated per completion.
     */
    @FunctionalInterface
    public interface CompletionHandler {
        /**
         * One completion.
         *
         * @param cookie the operation's cookie, as submitted
         * @param res    the CQE result: not negative on success, -errno on failure; -ECANCELED (-125) once
         *               {@link #close()} has cancelled the operation, or given up waiting for the kernel to
         * @param flags  the CQE flags: IORING_CQE_F_MORE (2) while a multishot operation has more to report
         */
        void onCompletion(long cookie, int res, int flags);
    }

    private static final long CANCEL_ALL_COOKIE = Long.MIN_VALUE;
    private static final CompletionHandler IGNORED = (cookie, res, flags) -> { };
    /**
     * Operations still in flight when a ring had to be closed: the kernel may write to their buffers yet.
     * Global and only growing on purpose: nothing tells user space when the kernel lets go of them, so their
     * memory stays reachable for the JVM's life (only ops that ignored cancellation within close()'s wait land here).
     */
    private static final List<Object> NEVER_FREED = new ArrayList<>();

    private final IoUringRing ring;
    private final Poller.Registration registration; // null for an unwatched ring
    private final ReentrantLock submitLock = new ReentrantLock();
    private final ReentrantLock reapLock = new ReentrantLock();
    /** The operations in flight; its monitor guards it. Lock order: submitLock or reapLock, then slots. */
    private final UringSlots slots;
    private final AtomicLong internalCookies = new AtomicLong(Long.MIN_VALUE + 1);
    private final UringCompletions completions; // guarded by reapLock
    private final IoUringRing.CqeHandler onCqe;
    private final boolean shared;
    private volatile boolean closed;
    private boolean ringClosed; // guarded by reapLock

    /** The future API on top of the handler path: one per operation, as the future itself. */
    private final class FutureHandler implements CompletionHandler {
        final CompletableFuture<Completion> future = new PollerSafeFuture<>();
        final Op op;
        final Consumer<Completion> each; // multishot, else null

        FutureHandler(Op op, Consumer<Completion> each) {
            this.op = op;
            this.each = each;
        }

        @Override
        public void onCompletion(long cookie, int res, int flags) {
            Completion completion = new Completion(cookie, opcode(op), res, Integer.toUnsignedLong(flags));
            if (each != null) {
                try {
                    each.accept(completion);
                } catch (RuntimeException e) {
                    System.getLogger("dev.fdkit.Uring").log(System.Logger.Level.WARNING, "completion consumer threw", e);
                }
            }
            if ((flags & Uapi.IORING_CQE_F_MORE) != 0) return;
            if (closed && res == -Errno.ECANCELED) future.completeExceptionally(new IOException("Uring closed with the operation in flight"));
            else future.complete(completion);
        }
    }

    /**
     * A slot's hook on its target descriptor, made once per slot: the target was closed, cancel its operation so
     * the close(2) waiting for the operation's use happens promptly. The slot may hold another operation by the
     * time it runs (the descriptor snapshots its hooks): only an operation whose own target is closed is cancelled.
     */
    private final class CloseHook implements Runnable {
        private final int slot;

        CloseHook(int slot) {
            this.slot = slot;
        }

        @Override
        public void run() {
            long cookie;
            synchronized (slots) {
                Fd fd = slots.inUse(slot) ? slots.fd(slot) : null;
                if (fd == null || !fd.isClosed()) return;
                cookie = slots.cookie(slot);
            }
            cancelQuietly(cookie);
        }
    }

    private Uring(int entries, int completionEntries, Poller poller, boolean shared) {
        requireAvailable();
        this.shared = shared;
        try {
            this.ring = new IoUringRing(entries, completionEntries);
        } catch (SyscallException e) {
            throw ErrnoException.unchecked(e);
        }
        this.slots = new UringSlots(ring.sqEntries(), CloseHook::new);
        this.completions = new UringCompletions(slots);
        this.onCqe = completions::add;
        // The ring's own descriptor, level-triggered, not an eventfd registered with IORING_REGISTER_EVENTFD: a
        // completion that finds the CQ full is parked in the kernel's overflow list without signalling the eventfd
        // (the CQ tail did not move), so a reap that checked IORING_SQ_CQ_OVERFLOW just before the kernel set it
        // left the completion parked until some later one. The ring descriptor polls readable while the CQ holds
        // entries or completions are parked, and the kernel wakes its pollers on the overflow too.
        try {
            this.registration = poller == null ? null : poller.register(ring::fd, Poller.READABLE, (r, events) -> reap());
        } catch (RuntimeException e) {
            closeRingQuietly();
            throw e;
        }
    }

    /**
     * A ring of {@code entries} submission slots (and 8x as many completion slots), reaped by the shared poller.
     *
     * @param entries the submission queue size, 1 to 32768 (the kernel rounds it up to a power of two)
     * @return a new ring, owned by the caller: close it
     * @throws IllegalArgumentException      if {@code entries} is out of range
     * @throws UnsupportedOperationException without io_uring, with the probe's cause
     * @throws UncheckedIOException          if io_uring_setup fails (EMFILE, ENOMEM...)
     */
    public static Uring open(int entries) {
        return open(entries, Poller.shared());
    }

    /**
     * A ring reaped by {@code poller}'s thread (drive it yourself for a Poller.open()).
     *
     * @param entries the submission queue size, 1 to 32768; the completion queue gets 8x as many
     * @param poller  the poller that reaps the completions; not null
     * @return a new ring, owned by the caller: close it
     * @throws IllegalArgumentException      if {@code entries} is out of range
     * @throws UnsupportedOperationException without io_uring, with the probe's cause
     * @throws UncheckedIOException          if io_uring_setup fails (EMFILE, ENOMEM...)
     */
    public static Uring open(int entries, Poller poller) {
        requireEntries(entries);
        Objects.requireNonNull(poller, "poller");
        return new Uring(entries, Math.max(2, entries * 8), poller, false);
    }

    /**
     * A ring no poller watches: completions are reaped only by {@link #reap()} on the owner's thread, or by a
     * host event loop that watches {@link #fd()} itself and calls {@code reap()} when it is readable. Futures,
     * handlers and the waits built on this ring ({@link #read}, {@link #exitOf}...) complete on the reaping
     * thread, and only once someone reaps. For a thread that owns its ring, as an event loop or a batch
     * submitter does: the kernel then wakes no poller for every completion (for a NOP round trip that wake
     * is about a quarter of the kernel's work).
     *
     * @param entries the submission queue size, 1 to 32768; the completion queue gets 8x as many
     * @return a new ring, owned by the caller: close it
     * @throws IllegalArgumentException      if {@code entries} is out of range
     * @throws UnsupportedOperationException without io_uring, with the probe's cause
     * @throws UncheckedIOException          if io_uring_setup fails (EMFILE, ENOMEM...)
     */
    public static Uring openUnwatched(int entries) {
        requireEntries(entries);
        return new Uring(entries, Math.max(2, entries * 8), null, false);
    }

    /**
     * A ring with an explicit completion queue size (a power of two ≥ entries; tiny rings exercise overflow).
     *
     * @param entries           the submission queue size, 1 to 32768
     * @param completionEntries the completion queue size, at least {@code entries}
     * @param poller            the poller that reaps the completions; not null
     * @return a new ring, owned by the caller: close it
     * @throws IllegalArgumentException      if a size is out of range
     * @throws UnsupportedOperationException without io_uring, with the probe's cause
     * @throws UncheckedIOException          if io_uring_setup fails (EMFILE, ENOMEM...)
     */
    public static Uring open(int entries, int completionEntries, Poller poller) {
        requireEntries(entries);
        if (completionEntries < entries) throw new IllegalArgumentException("completionEntries must be at least entries (" + entries + "), was " + completionEntries);
        return new Uring(entries, completionEntries, Objects.requireNonNull(poller, "poller"), false);
    }

    private static void requireEntries(int entries) {
        if (entries < 1 || entries > 32768) throw new IllegalArgumentException("entries must be between 1 and 32768, was " + entries);
    }

    /**
     * The process-wide ring used by fdkit's non-pinning waits, opened on first use.
     *
     * @return the shared ring (256 submission entries), reaped by the shared poller; it cannot be closed
     * @throws UnsupportedOperationException without io_uring
     * @throws UncheckedIOException          if it cannot be opened now (EMFILE...); a later call tries again
     */
    public static Uring shared() {
        requireAvailable();
        Uring u = sharedRing;
        return u != null ? u : openShared();
    }

    private static volatile Uring sharedRing;

    // Not a holder class: a failed class initialiser (EMFILE) would answer NoClassDefFoundError
    // to every later call instead of the failure itself, and never open the ring once it could.
    private static synchronized Uring openShared() {
        if (sharedRing == null) sharedRing = new Uring(256, 256 * 8, Poller.shared(), true);
        return sharedRing;
    }

    private static void requireAvailable() {
        Capability uring = Linux.feature(Feature.IO_URING);
        if (!uring.available()) throw new UnsupportedOperationException("io_uring is unavailable: " + uring.cause());
    }

    /**
     * The ring's descriptor: it polls readable while {@link #reap()} has work, including completions the kernel
     * keeps after a completion-queue overflow. Nest it in another loop to reap there (level-triggered).
     *
     * @throws IllegalStateException if this Uring is closed (the number may belong to another descriptor by now)
     */
    @Override
    public int fd() {
        requireOpen();
        return ring.fd();
    }

    /**
     * The submission queue's size.
     *
     * @return the number of SQ slots the kernel gave, {@code entries} rounded up to a power of two
     */
    public int submissionEntries() {
        return ring.sqEntries();
    }

    /**
     * The completion queue's size.
     *
     * @return the number of CQ slots the kernel gave; a fuller queue overflows without loss
     */
    public int completionEntries() {
        return ring.cqEntries();
    }

    /**
     * Operations submitted and not yet finally completed.
     *
     * @return the number in flight, fdkit's internal ones (cancels, waits) included
     */
    public int inFlight() {
        synchronized (slots) {
            return slots.size();
        }
    }

    // ------------------------------------------------------------------ submitting

    /**
     * Submits {@code op}; the future completes with its completion (for multishot: the last one).
     *
     * @param op the operation; not null
     * @return a future completed on the reaping thread, or failed with an IOException if this Uring closes first
     * @throws IllegalArgumentException      if an op breaks a rule of its record or its cookie is in flight
     * @throws IllegalStateException         if this Uring or the op's target descriptor is closed
     * @throws UnsupportedOperationException if this kernel lacks the op's opcode
     */
    public CompletableFuture<Completion> submit(Op op) {
        FutureHandler handler = new FutureHandler(Objects.requireNonNull(op, "op"), null);
        submitWith(op, handler);
        return handler.future;
    }

    /**
     * Submits {@code op} and hands each of its completions to {@code each} on the reaping thread.
     *
     * @param op   the operation, typically a multishot PollAdd; not null
     * @param each called with every completion, the last one included; an exception it throws is logged
     * @return a future completed with the last completion, as {@link #submit(Op)}'s
     * @throws IllegalArgumentException      if an op breaks a rule of its record or its cookie is in flight
     * @throws IllegalStateException         if this Uring or the op's target descriptor is closed
     * @throws UnsupportedOperationException if this kernel lacks the op's opcode
     */
    public CompletableFuture<Completion> submit(Op op, Consumer<Completion> each) {
        FutureHandler handler = new FutureHandler(Objects.requireNonNull(op, "op"), Objects.requireNonNull(each, "each"));
        submitWith(op, handler);
        return handler.future;
    }

    /**
     * Submits {@code op} and calls {@code handler} with each of its completions, on the reaping thread: the path
     * that allocates nothing per operation. The op is held in a reusable slot of the in-flight table until its last
     * completion, the kernel's scratch memory (a Timeout's timespec, a Waitid's siginfo, a FutexWaitv's entries)
     * is the slot's own, and the CQE's user_data names the slot, so an op record may be kept and submitted again
     * once its last completion has come (records are immutable; its cookie must be free again by then).
     * <p>
     * The rules are {@link #submit(Op)}'s: the cookie is checked unique among operations in flight (through a
     * preallocated table, without allocation), a closed target descriptor is refused, closing the target cancels
     * the op. {@link #close()} cancels what is in flight: each handler still waiting is then called once with
     * {@code res = -ECANCELED}. A handler runs on the reaping thread, like a Poller handler: an exception it
     * throws is logged and does not stop reaping.
     *
     * @param op      the operation; not null
     * @param handler called with every completion of the op (one, or several for a multishot PollAdd); not null
     * @throws IllegalArgumentException      if an op breaks a rule of its record or its cookie is in flight
     * @throws IllegalStateException         if this Uring or the op's target descriptor is closed
     * @throws UnsupportedOperationException if this kernel lacks the op's opcode
     */
    public void submitWith(Op op, CompletionHandler handler) {
        Objects.requireNonNull(handler, "handler");
        long userData = register(op, handler);
        enter(null, null, 1, op, userData);
        cancelIfTargetClosed(op, userData);
    }

    /**
     * Submits all of {@code ops} with one io_uring_enter (more only if they do not fit in the SQ: the kernel
     * is entered each time the SQ is full, then once at the end); returns their futures in the order of
     * {@code ops}, as {@link #submit(Op)} would.
     * <p>
     * Every op is checked first, as {@code submit} checks it (null, the reserved cookie, a cookie already in
     * flight or used twice in the batch, a closed target descriptor, an opcode this kernel lacks). If one is
     * rejected, none is submitted: whatever the earlier ops held (descriptor uses, in-flight entries) is
     * released, and the exception — the type {@code submit} throws — names the op's index ({@code ops[3]: ...}).
     * Closing a target descriptor cancels its op, as with {@code submit}. An empty list returns an empty list
     * without a syscall. The list returned is unmodifiable.
     * <p>
     * Only a failing io_uring_enter (a broken ring, not a rejected op) can leave a batch half submitted: the
     * exception propagates, the ops the kernel had already taken (when the batch needed more than one enter)
     * stay in flight and can be cancelled by cookie, the others are withdrawn from the SQ and released.
     *
     * @param ops the operations, in submission order; not null
     * @return one future per op, in the order of {@code ops}
     * @throws NullPointerException          if {@code ops} or one of them (or a field it needs) is null
     * @throws IllegalArgumentException      if an op breaks a rule of its record or reuses a cookie
     * @throws IllegalStateException         if this Uring is closed, or the target descriptor of an op is
     * @throws UnsupportedOperationException if this kernel lacks an op's opcode
     */
    public List<CompletableFuture<Completion>> submitAll(List<? extends Op> ops) {
        List<Op> batch = Arrays.asList(Objects.requireNonNull(ops, "ops").toArray(new Op[0])); // a snapshot: the list may change under us
        requireOpen();
        if (batch.isEmpty()) return List.of();
        FutureHandler[] handlers = new FutureHandler[batch.size()];
        submitBatch(batch, null, handlers, new long[batch.size()]);
        List<CompletableFuture<Completion>> futures = new ArrayList<>(batch.size());
        for (FutureHandler h : handlers) futures.add(h.future);
        return Collections.unmodifiableList(futures);
    }

    /**
     * Submits all of {@code ops} with one io_uring_enter, as {@link #submitAll(List)} does, and calls
     * {@code handler} with each of their completions, as {@link #submitWith(Op, CompletionHandler)} does: the
     * batch path that allocates nothing (with a random-access list, as ArrayList, {@code List.of} or
     * {@code Arrays.asList}; the handler tells the ops apart by cookie). The rules are submitAll's: every op is
     * checked first, and if one is rejected none is submitted and the exception names its index. Unlike
     * submitAll it takes no snapshot: the list must not change during the call.
     *
     * @param ops     the operations, in submission order; not null
     * @param handler called with every completion of every op, on the reaping thread; not null
     * @throws NullPointerException          if {@code ops}, {@code handler} or an op (or a field it needs) is null
     * @throws IllegalArgumentException      if an op breaks a rule of its record or reuses a cookie
     * @throws IllegalStateException         if this Uring is closed, or the target descriptor of an op is
     * @throws UnsupportedOperationException if this kernel lacks an op's opcode
     */
    public void submitAllWith(List<? extends Op> ops, CompletionHandler handler) {
        Objects.requireNonNull(ops, "ops");
        Objects.requireNonNull(handler, "handler");
        requireOpen();
        if (ops.isEmpty()) return;
        long[] userData = batchUserData.get();
        if (userData.length < ops.size()) batchUserData.set(userData = new long[Math.max(ops.size(), userData.length * 2)]);
        submitBatch(ops, handler, null, userData);
    }

    /** A batch's user_data, reused per submitting thread (any ring): submitAllWith allocates nothing once it is big enough. */
    private static final ThreadLocal<long[]> batchUserData = ThreadLocal.withInitial(() -> new long[32]);

    /**
     * Registers every op of {@code batch} into {@code userData}, each with {@code handler}, or else with a new
     * FutureHandler stored in {@code futures}; releases them all if one is rejected; then submits them with one enter.
     */
    private void submitBatch(List<? extends Op> batch, CompletionHandler handler, FutureHandler[] futures, long[] userData) {
        int count = batch.size();
        for (int i = 0; i < count; i++) {
            Op op = batch.get(i);
            try {
                if (op == null) throw new NullPointerException("ops[" + i + "] is null");
                userData[i] = register(op, handler != null ? handler : (futures[i] = new FutureHandler(op, null)));
            } catch (RuntimeException e) {
                forget(userData, 0, i, 0);
                throw rejected(batch, i, e);
            }
        }
        enter(batch, userData, count, null, 0);
        for (int i = 0; i < count; i++) {
            cancelIfTargetClosed(batch.get(i), userData[i]);
        }
    }

    /**
     * Fills an SQE for each of {@code count} registered ops — {@code ops[i]} in slot {@code batch[i]}, or
     * {@code singleOp} in slot {@code single} when batch is null (one op needs no array) — and enters the kernel. On failure nothing the kernel has not taken stays
     * behind: those SQEs are withdrawn from the SQ (a later enter would otherwise submit them, completing under
     * user_data nobody waits for) and their slots released; ops the kernel took (when the SQ filled up and had
     * to be entered midway) stay in flight.
     */
    private void enter(List<? extends Op> ops, long[] batch, int count, Op singleOp, long single) {
        int prepared = 0;
        submitLock.lock();
        try {
            requireOpen(); // again under the lock: close() sets `closed` under it and then unmaps the rings
            for (; prepared < count; prepared++) {
                if (batch == null) prepareSqe(singleOp, single);
                else prepareSqe(ops.get(prepared), batch[prepared]);
            }
            enter();
        } catch (RuntimeException e) {
            // Not closed (we hold the lock close() sets it under): the rings are still mapped.
            int withdrawn = closed ? 0 : ring.withdrawUnsubmitted();
            forget(batch, Math.max(0, prepared - withdrawn), count, single);
            throw e;
        } finally {
            submitLock.unlock();
        }
    }

    /**
     * Checks {@code op}, holds a use of its target descriptor, takes a slot for it and hooks the target's
     * close; returns the slot's user_data. If the op is rejected, throws with none of that held.
     */
    private long register(Op op, CompletionHandler handler) {
        Objects.requireNonNull(op, "op");
        if (op.cookie() == CANCEL_ALL_COOKIE) throw new IllegalArgumentException("cookie " + CANCEL_ALL_COOKIE + " is reserved");
        requireOpen();
        Fd fd = check(op);
        if (fd == null) return claim(op, handler, null, -1);
        int number = fd.acquire();
        long userData;
        try {
            userData = claim(op, handler, fd, number);
        } catch (RuntimeException | Error e) {
            fd.release();
            throw e;
        }
        if (!fd.addCloseHook(closeHook(userData))) { // closed since acquire(): nobody would ever cancel it
            forget(userData);
            throw fd.closedException();
        }
        return userData;
    }

    /** A slot for the checked op; IllegalArgumentException, nothing taken, if its cookie is in flight. */
    private long claim(Op op, CompletionHandler handler, Fd fd, int number) {
        long userData;
        synchronized (slots) {
            userData = slots.claim(op, handler, fd, number);
        }
        if (userData == 0) throw new IllegalArgumentException(alreadyInFlight(op.cookie()));
        return userData;
    }

    private Runnable closeHook(long userData) {
        synchronized (slots) {
            return slots.closeHook((int) userData);
        }
    }

    /**
     * Fills the next free SQE for the op, entering the kernel first while the SQ is full (everything prepared
     * before is then with the kernel). Under submitLock. register() did everything that can fail, so prepare()
     * only writes fields; should it throw all the same, the slot is given back, never left as a zeroed SQE
     * (a NOP with user_data 0) for the next enter to submit.
     */
    private void prepareSqe(Op op, long userData) {
        MemorySegment sqe;
        while ((sqe = ring.nextSqe()) == null) enter();
        try {
            prepare(sqe, op, userData);
        } catch (RuntimeException | Error e) {
            ring.unclaimLastSqe();
            throw e;
        }
    }

    /**
     * A close of the target that ran its hook before the SQE reached the kernel cancelled nothing: cancel now.
     * An op without a target has nothing to check (and skips the table's monitor).
     */
    private void cancelIfTargetClosed(Op op, long userData) {
        if (!hasTarget(op)) return;
        long cookie;
        synchronized (slots) {
            int slot = slots.slotOf(userData);
            Fd fd = slot < 0 ? null : slots.fd(slot);
            if (fd == null || !fd.isClosed()) return;
            cookie = slots.cookie(slot);
        }
        cancelQuietly(cookie);
    }

    /** Releases the slots of ops that never reached the kernel: {@code batch[from..to)}, or {@code single}. */
    private void forget(long[] batch, int from, int to, long single) {
        for (int i = from; i < to; i++) forget(batch == null ? single : batch[i]);
    }

    /**
     * Frees the slot of {@code userData} without calling its handler and releases its descriptor, once: close()
     * may race a submit failing on another thread. Returns whether this call freed it.
     */
    private boolean forget(long userData) {
        Fd fd;
        Runnable hook;
        synchronized (slots) {
            int slot = slots.slotOf(userData);
            if (slot < 0) return false;
            fd = slots.fd(slot);
            hook = slots.closeHook(slot);
            slots.release(slot);
        }
        releaseTarget(fd, hook);
        return true;
    }

    static void releaseTarget(Fd fd, Runnable hook) {
        if (fd == null) return;
        fd.removeCloseHook(hook);
        fd.release();
    }

    /** {@code e} for {@code batch[index]}: the same type (it names the rule), the index in the message. */
    private static RuntimeException rejected(List<? extends Op> batch, int index, RuntimeException e) {
        Op op = batch.get(index);
        if (op == null) return e; // already "ops[i] is null"
        String message = e.getMessage();
        if (alreadyInFlight(op.cookie()).equals(message)) {
            for (int j = 0; j < index; j++) {
                if (batch.get(j).cookie() == op.cookie()) {
                    message = "cookie " + op.cookie() + " is also the cookie of ops[" + j + "]";
                    break;
                }
            }
        }
        String m = "ops[" + index + "]: " + message;
        boolean fieldName = message != null && message.indexOf(' ') < 0; // requireNonNull's messages name the field: "buffer"
        return switch (e) {
            case NullPointerException n -> (RuntimeException) new NullPointerException(fieldName ? m + " is null" : m).initCause(e);
            case IllegalArgumentException a -> new IllegalArgumentException(m, e);
            case IllegalStateException s -> new IllegalStateException(m, e);
            case UnsupportedOperationException u -> new UnsupportedOperationException(m, e);
            default -> e;
        };
    }

    private static String alreadyInFlight(long cookie) {
        return "cookie " + cookie + " is already in flight";
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("Uring is closed");
    }

    /** io_uring_enter for what is prepared; reaps first when the kernel says the CQ is backed up. */
    private void enter() {
        for (;;) {
            int r = ring.submit(0);
            if (r >= 0) {
                if (ring.pending() == 0) return;
                continue;
            }
            if (r == -Errno.EAGAIN || r == -Errno.EBUSY) {
                reap();
                Thread.onSpinWait();
                continue;
            }
            throw ErrnoException.unchecked(new SyscallException("io_uring_enter", "fd=" + ring.fd(), -r)); // enter(..) withdraws what is left
        }
    }

    /**
     * Fills {@code sqe} for {@code op}, registered in the slot {@code userData} names, liburing-style (see
     * IoUringPrep), the kernel's memory being the slot's scratch. Cannot fail: register() checked every value
     * (a timeout, a live futex word). The ops that need nothing of their slot skip its monitor: one lock fewer
     * on the allocation-free path.
     */
    private void prepare(MemorySegment sqe, Op op, long userData) {
        switch (op) {
            case Nop n -> IoUringPrep.prepNop(sqe);
            case FutexWait f -> IoUringPrep.prepFutexWait(sqe, f.futex().word(), Integer.toUnsignedLong(f.expected()),
                    Integer.toUnsignedLong(Uapi.FUTEX_BITSET_MATCH_ANY), f.futex().futex2Flags(), 0);
            case FutexWake f -> IoUringPrep.prepFutexWake(sqe, f.futex().word(), f.count(),
                    Integer.toUnsignedLong(Uapi.FUTEX_BITSET_MATCH_ANY), f.futex().futex2Flags(), 0);
            default -> prepareFromSlot(sqe, userData);
        }
        IoUringPrep.setData64(sqe, userData);
    }

    /** The ops whose SQE takes their slot's descriptor number, scratch memory or another slot's user_data. */
    private void prepareFromSlot(MemorySegment sqe, long userData) {
        synchronized (slots) {
            int slot = slots.slotOf(userData);
            int fd = slots.number(slot);
            MemorySegment scratch = slots.scratch(slot);
            switch (slots.op(slot)) {
                case PollAdd p when p.multishot() -> IoUringPrep.prepPollMultishot(sqe, fd, pollEvents(p.events()));
                case PollAdd p -> IoUringPrep.prepPollAdd(sqe, fd, pollEvents(p.events()));
                // offset -1: the descriptor's current position (eventfds and pipes have none)
                case Read r -> IoUringPrep.prepRead(sqe, fd, r.buffer(), (int) Math.min(r.buffer().byteSize(), Integer.MAX_VALUE), -1L);
                case Timeout t -> {
                    IoUringRing.timespec(scratch, Durations.timeoutNanos(t.after(), "after"));
                    IoUringPrep.prepTimeout(sqe, scratch, 0, 0);
                }
                // user_data 0 names no slot: the kernel answers -ENOENT, as for a cookie not in flight
                case Cancel c -> IoUringPrep.prepCancel64(sqe, slots.userDataOf(c.targetCookie()), 0);
                case Waitid w -> IoUringPrep.prepWaitid(sqe, Uapi.P_PIDFD, fd, scratch, Uapi.WEXITED | (w.reap() ? 0 : Uapi.WNOWAIT), 0);
                case FutexWaitv v -> IoUringPrep.prepFutexWaitv(sqe, Futex.fillWaitv(slots.waitv(slot), v.futexes(), v.expected()), v.futexes().size(), 0);
                case Nop n -> throw new AssertionError("prepared without its slot");
                case FutexWait f -> throw new AssertionError("prepared without its slot");
                case FutexWake f -> throw new AssertionError("prepared without its slot");
            }
        }
    }

    // ------------------------------------------------------------------ completing

    /**
     * Reaps available completions now, on this thread. The poller calls it for you.
     *
     * @return the number of completion entries reaped, 0 once closed
     */
    public int reap() {
        reapLock.lock();
        try {
            if (ringClosed) return 0; // the rings are unmapped
            long flushesBefore = ring.overflowFlushes();
            int enclosing = completions.begin();
            int reaped;
            try {
                reaped = ring.reap(onCqe);
            } finally {
                completions.end(enclosing); // the handlers run here, after the CQ slots are free
            }
            long flushes = ring.overflowFlushes() - flushesBefore;
            if (flushes > 0) recordOverflow(flushes);
            return reaped;
        } finally {
            reapLock.unlock();
        }
    }

    private void recordOverflow(long flushes) {
        if (!FdkitEvents.recorderStarted()) return;
        FdkitEvents.UringCqOverflow event = new FdkitEvents.UringCqOverflow();
        if (event.shouldCommit()) {
            event.cqEntries = ring.cqEntries();
            event.flushes = (int) flushes;
            event.commit();
        }
    }

    private void cancelQuietly(long cookie) {
        if (closed) return;
        synchronized (slots) {
            if (slots.slotOfCookie(cookie) < 0) return;
        }
        try {
            submitWith(new Cancel(cookie, internalCookies.getAndIncrement()), IGNORED);
        } catch (RuntimeException ignored) {
            // the operation finished meanwhile, or the ring is closing and cancels everything anyway
        }
    }

    // ------------------------------------------------------------------ non-pinning waits built on it

    /**
     * Waits in the kernel for {@code futex} to be woken. The caller parks in Java.
     *
     * @param futex    the word to wait on; keep its memory open until the future completes
     * @param expected the value the word must hold for the wait to start
     * @return a future of WOKEN or VALUE_MISMATCH; failed with an ErrnoException on another errno
     */
    public CompletableFuture<Futex.WaitResult> awaitFutex(Futex futex, int expected) {
        return submit(new FutexWait(futex, expected, internalCookies.getAndIncrement()))
                .thenApply(c -> {
                    if (c.res() >= 0) return Futex.WaitResult.WOKEN;
                    if (c.res() == -Errno.EAGAIN) return Futex.WaitResult.VALUE_MISMATCH;
                    throw new CompletionException(new ErrnoException("futex_wait", "IORING_OP_FUTEX_WAIT", (int) -c.res()));
                });
    }

    /**
     * Cancels the in-flight operation with {@code cookie}.
     *
     * @param cookie the cookie of the operation to cancel
     * @return a future of the cancel's own completion (see {@link Cancel} for its res)
     */
    public CompletableFuture<Completion> cancel(long cookie) {
        return submit(new Cancel(cookie, internalCookies.getAndIncrement()));
    }

    /**
     * A cookie from fdkit's internal range, for callers that need no particular value.
     *
     * @return a negative cookie not handed out before by this Uring
     */
    public long nextCookie() {
        return internalCookies.getAndIncrement();
    }

    /**
     * Reads an eventfd's counter in the kernel, without blocking a thread.
     *
     * @param eventFd the eventfd to read; not null
     * @return a future of the value read, as {@link EventFd#read()} returns it
     */
    public CompletableFuture<Long> read(EventFd eventFd) {
        Objects.requireNonNull(eventFd, "eventFd");
        MemorySegment word = Arena.ofAuto().allocate(JAVA_LONG);
        return submit(new Read(eventFd, word, internalCookies.getAndIncrement())).thenApply(c -> {
            if (c.res() != 8) throw new CompletionException(new ErrnoException("read", "eventfd " + eventFd, (int) -c.res()));
            return word.get(JAVA_LONG, 0);
        });
    }

    /**
     * The exit of {@code process}, noticed by the kernel (WAITID; not reaped here, see {@link Waitid}).
     *
     * @param process the process to watch; not null
     * @return a future of its exit status, as {@code process.onExit()} gives it; failed with an ErrnoException
     *         if the WAITID fails otherwise than with ECHILD
     */
    public CompletableFuture<ExitStatus> exitOf(ProcessDescriptor process) {
        Waitid op = new Waitid(process, false, internalCookies.getAndIncrement());
        return submit(op).thenCompose(c -> {
            // -ECHILD: for an fdkit child, its descriptor's reaper (woken by the same exit) reaped it before
            // io_uring re-checked (see Waitid); for someone else's process, waitid cannot see it at all. Either
            // way onExit() knows: the status, or the poller's wait for the pidfd.
            if (c.res() < 0 && c.res() != -Errno.ECHILD) {
                return CompletableFuture.failedFuture(new ErrnoException("waitid", "IORING_OP_WAITID, pid=" + process.pid(), (int) -c.res()));
            }
            return process.onExit();
        });
    }

    // ------------------------------------------------------------------ closing

    /**
     * Cancels every operation in flight (their futures fail with an IOException; handlers get -ECANCELED), stops
     * reaping, unmaps the rings and closes the descriptors. Idempotent.
     */
    @Override
    public void close() {
        if (shared) throw new IllegalStateException("the shared Uring cannot be closed");
        submitLock.lock();
        try {
            if (closed) return;
            closed = true;
        } finally {
            submitLock.unlock();
        }
        drainInFlight();
        if (registration != null) registration.cancel();
        long[] left;
        int count = 0;
        synchronized (slots) {
            left = new long[slots.size()];
            for (int slot = 0; slot < slots.capacity(); slot++) {
                if (!slots.inUse(slot)) continue;
                left[count++] = slots.userData(slot);
                synchronized (NEVER_FREED) {
                    NEVER_FREED.add(slots.op(slot)); // the kernel may still write into its memory
                }
            }
            if (count > 0) {
                synchronized (NEVER_FREED) {
                    NEVER_FREED.addAll(slots.memory()); // and into the slots' scratch; not the slots: they keep this Uring reachable
                }
            }
        }
        // No submit touches the SQ any more (they all check `closed` under submitLock, set above); a reap()
        // on another thread must not touch the CQ while it is unmapped: reapLock. Not both locks at once:
        // reaping runs completion callbacks, which may submit (and get IllegalStateException) under reapLock.
        reapLock.lock();
        try {
            int enclosing = completions.begin();
            for (int i = 0; i < count; i++) completions.add(left[i], -Errno.ECANCELED, 0);
            completions.end(enclosing);
            ringClosed = true;
            closeRingQuietly();
        } finally {
            reapLock.unlock();
        }
    }

    /** Asks the kernel to cancel everything and reaps until nothing is in flight (at most about a second). */
    private void drainInFlight() {
        if (inFlight() == 0) return;
        submitLock.lock();
        try {
            MemorySegment sqe;
            while ((sqe = ring.nextSqe()) == null) ring.submit(0);
            IoUringPrep.prepCancel64(sqe, 0, Uapi.IORING_ASYNC_CANCEL_ANY);
            IoUringPrep.setData64(sqe, CANCEL_ALL_COOKIE);
            ring.submit(0);
        } finally {
            submitLock.unlock();
        }
        long deadline = System.nanoTime() + 1_000_000_000L;
        while (inFlight() > 0 && System.nanoTime() < deadline) {
            if (reap() == 0) Thread.onSpinWait();
        }
    }

    private void closeRingQuietly() {
        try {
            ring.close();
        } catch (SyscallException ignored) {
            // nothing more to release
        }
    }

    @Override
    public String toString() {
        return "Uring(sq=" + ring.sqEntries() + ", cq=" + ring.cqEntries() + ", inFlight=" + inFlight() + (closed ? ", closed" : "") + ")";
    }

    // ------------------------------------------------------------------ per-op details

    /** The opcode a completion reports as {@code obj}. */
    private static int opcode(Op op) {
        return switch (op) {
            case Nop n -> Uapi.IORING_OP_NOP;
            case PollAdd p -> Uapi.IORING_OP_POLL_ADD;
            case Read r -> Uapi.IORING_OP_READ;
            case Timeout t -> Uapi.IORING_OP_TIMEOUT;
            case Cancel c -> Uapi.IORING_OP_ASYNC_CANCEL;
            case Waitid w -> Uapi.FDKIT_IORING_OP_WAITID;
            case FutexWait f -> Uapi.FDKIT_IORING_OP_FUTEX_WAIT;
            case FutexWake f -> Uapi.FDKIT_IORING_OP_FUTEX_WAKE;
            case FutexWaitv f -> Uapi.FDKIT_IORING_OP_FUTEX_WAITV;
        };
    }

    /** Whether the op has a target descriptor (whose close cancels it): PollAdd, Read, Waitid. */
    private static boolean hasTarget(Op op) {
        return op instanceof PollAdd || op instanceof Read || op instanceof Waitid;
    }

    /**
     * Checks what the kernel will be given, before a slot or an SQE is taken, and returns the descriptor it will
     * use (held for the operation's lifetime by the caller), or null if none. One switch, allocating nothing: the
     * target first, then the opcode (they all came after io_uring itself), then the record's own rules.
     */
    private static Fd check(Op op) {
        return switch (op) {
            case Nop n -> null;
            case Cancel c -> null;
            case PollAdd p -> {
                Fd fd = targetFd(Objects.requireNonNull(p.target(), "target"));
                if (p.events() == 0 || (p.events() & ~(Poller.READABLE | Poller.WRITABLE | Poller.HANGUP)) != 0) {
                    throw new IllegalArgumentException("events must combine Poller.READABLE, WRITABLE, HANGUP; was 0x" + Integer.toHexString(p.events()));
                }
                yield fd;
            }
            case Read r -> {
                Fd fd = targetFd(Objects.requireNonNull(r.target(), "target"));
                MemorySegment b = Objects.requireNonNull(r.buffer(), "buffer");
                if (!b.isNative() || b.isReadOnly() || b.byteSize() == 0) throw new IllegalArgumentException("buffer must be native, writable and non-empty");
                yield fd;
            }
            case Timeout t -> {
                Durations.timeoutNanos(t.after(), "after");
                yield null;
            }
            case Waitid w -> {
                Fd fd = targetFd(Objects.requireNonNull(w.process(), "process"));
                requireFeature(Feature.IO_URING_WAITID);
                if (w.reap() && w.process().isChild()) {
                    throw new IllegalArgumentException("reap must be false for a process fdkit started (pid " + w.process().pid()
                            + "): its ProcessDescriptor reaps it and keeps its exit status, which a second reaper would take from it;"
                            + " use reap = false, exitOf(process) or process.onExit()");
                }
                yield fd;
            }
            case FutexWait f -> {
                requireFeature(Feature.IO_URING_FUTEX);
                requireLiveWord(f.futex());
                yield null;
            }
            case FutexWake f -> {
                requireFeature(Feature.IO_URING_FUTEX);
                requireLiveWord(f.futex());
                if (f.count() < 1) throw new IllegalArgumentException("count must be at least 1, was " + f.count());
                yield null;
            }
            case FutexWaitv v -> {
                requireFeature(Feature.IO_URING_FUTEX);
                Futex.checkWaitv(Objects.requireNonNull(v.futexes(), "futexes"), Objects.requireNonNull(v.expected(), "expected"));
                yield null;
            }
        };
    }

    /** Refuses an op whose opcode this kernel lacks. */
    private static void requireFeature(Feature feature) {
        Capability c = Linux.feature(feature);
        if (!c.available()) throw new UnsupportedOperationException(feature.displayName() + " is unavailable: " + c.cause());
    }

    private static Fd targetFd(Pollable target) {
        Fd fd = Descriptors.of(target);
        if (fd != null) return fd;
        throw new IllegalArgumentException("target must be an EventFd or a ProcessDescriptor, was " + target);
    }

    /** The kernel gets only the word's address: one whose memory is closed may already hold something else. */
    private static void requireLiveWord(Futex futex) {
        Objects.requireNonNull(futex, "futex");
        if (!futex.word().scope().isAlive()) throw new IllegalStateException("futex: memory is already closed");
    }

    private static int pollEvents(int events) {
        int e = 0;
        if ((events & Poller.READABLE) != 0) e |= Uapi.POLLIN;
        if ((events & Poller.WRITABLE) != 0) e |= Uapi.POLLOUT;
        if ((events & Poller.HANGUP) != 0) e |= Uapi.POLLHUP;
        return e;
    }
}
