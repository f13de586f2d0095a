package dev.fdkit;

import dev.fdkit.internal.Durations;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.fdkit.CompletionRingLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A bounded ring of {@link Completion} records in off-heap memory: many producers, one consumer — the
 * asyncfd design done in user space, usable between processes through a mapped file.
 *
 * <h2>Layout (version 4, little-endian; a C peer can produce into it)</h2>
 * A ring is a chain of segments, one more per {@link #grow}; each segment is laid out so:
 * <pre>
 * offset   size  field
 *      0      4  magic 0x52444B46 ("FKDR")
 *      4      4  version = 4
 *      8      4  capacity: a power of two
 *     12      4  record size = 32
 *     16      8  next: 0 = the newest segment, 1 = a grow is adding the next one, else where the next starts
 *     24      4  generation: 0 for the first segment, one more for each next one
 *    128      8  tail: next position to claim; producers claim by CAS; bit 63 = moved (see Growing)
 *    256      8  head: next position to consume; written by the consumer only
 *    384      8  armed: 0 = consumer busy, 1 = the consumer waits on the futex doorbell, any other value =
 *                the consumer wants the eventfd doorbell of the mapping (CompletionRing object) with that id
 *    392      4  doorbell futex word (a shared futex), incremented on every ring
 *    512  32*capacity  records {u64 cookie, u64 obj, s64 res, s64 res2}
 *    512+32*capacity   8*capacity  sequence per slot (Vyukov bounded queue)
 * </pre>
 * The first segment starts the file (or the allocated memory); its {@code armed} and {@code doorbell} are the
 * ring's, and stay the same when it grows. Tail, head and the doorbell fields each have a 128-byte block (two cache lines, one adjacent-line
 * prefetch pair) of their own, so producers and the consumer do not drag each other's lines along.
 * Slot {@code i} starts with sequence {@code i}. A producer at position {@code p} (slot {@code p & (capacity-1)})
 * may write when {@code p - head < capacity} (head read with acquire: the consumer is done with the slot's
 * previous record), claims {@code p} by CAS on tail, writes the record, then publishes with sequence
 * {@code p+1} (release). The consumer reads slot {@code h} when its sequence is {@code h+1} (acquire) and
 * advances head (release) after each record; it never writes a sequence, so in steady state the sequence
 * lines travel one way only, producer to consumer. A half-written record is never read. A full ring refuses
 * ({@link #offer} returns false): never overwrite, never loss.
 * <p>
 * Version 1 had a 4-byte armed word (1 = eventfd, 2 = futex) and the doorbell at 196; it could not say
 * whose eventfd was armed (see below). Version 2 had tail, head and armed one cache line apart (64, 128,
 * 192; doorbell 200, records at 256). Version 3 was one segment without next, generation and the moved
 * bit. None is readable as version 4: {@link #open} names the file and both versions.
 *
 * <h2>Growing: replacing the segment with a larger one while producers run</h2>
 * The asyncfd proposal's {@code asyncfd(asfd, &newring); flush_process(&oldring)}, without a kernel: the
 * consumer keeps its doorbell (eventfd, futex word, Poller registration), producers move on by themselves.
 * <ol>
 * <li>Claim: CAS the newest segment's {@code next} from 0 to 1 (one grow at a time, across processes).</li>
 * <li>Add the segment, initialised as {@link #create} initialises a ring (header, sequence {@code i} in slot
 *     {@code i}, tail = head = 0, magic last), with {@code generation} one more. In a file it starts at the
 *     first 4096-byte boundary at or after the end of the newest segment: {@code ftruncate} the file to its end
 *     first. Growing a mapped file cuts nobody's pages, so it needs no exclusive lock; the shared lock each
 *     mapping holds keeps {@link #create} from truncating it, as before.</li>
 * <li>Link: store the new segment's file offset (for memory from {@link #allocate}: its address) in
 *     {@code next} (release).</li>
 * <li>Close the old segment: set bit 63 of its tail ({@code __atomic_fetch_or}, a full fence). From then
 *     on every claim CAS on that tail fails, so the positions below the tail's other bits are the last the
 *     segment will ever get.</li>
 * </ol>
 * A producer that reads a tail with bit 63 set (it reads the tail before every claim) goes to the segment
 * {@code next} names — mapping the file again up to the segment's end if its mapping is shorter — and claims
 * there; it never returns to the old one. So each producer's records stay in its order, and a record is in
 * exactly one segment.
 * <p>
 * The consumer drains the old segment up to its last position (slots claimed before the bit was set are
 * published by their producers, by sequence, as always: it waits for them as for any claimed slot), and
 * only when head equals the tail without bit 63 moves on to the next segment. Arming checks "nothing
 * claimed" across the segments the same way. Replaced segments stay in the file (or memory) until the ring
 * is reset by {@link #create} (or freed by {@link #close}): at most the size of the newest one, as each
 * grow at least doubles the capacity. A grower that dies between the claim and setting the bit leaves
 * {@code next} at 1: producers carry on in the old segment, but nobody can grow that ring file any more.
 *
 * <h2>Sharing a ring file: the lock protocol</h2>
 * A mapping of a file that shrinks under it faults (SIGBUS) at its next access beyond the new end; the JVM
 * reports that as {@code InternalError: a fault occurred in an unsafe memory access operation}. So the file's
 * size and header change only under an exclusive lock, and every mapping holds a shared one, with
 * {@code flock(2)} on the whole file:
 * <ul>
 * <li>Map an existing ring: {@code open(O_RDWR)}, {@code flock(LOCK_SH | LOCK_NB)} (EWOULDBLOCK: it is being
 *     created, try again later), check each segment's header (magic, version, record size, capacity,
 *     generation) following {@code next} from offset 0, and that the file ends exactly where the last
 *     segment does, {@code 512 + 40 * capacity} bytes after its offset (it may end later if that segment's
 *     {@code next} is 1: a grow is under way), then {@code mmap(MAP_SHARED)} the file.</li>
 * <li>Create or reset: {@code open(O_RDWR | O_CREAT)}, {@code flock(LOCK_EX | LOCK_NB)} — EWOULDBLOCK means a
 *     mapping exists: refuse, never truncate — then {@code ftruncate} to 0 and to the new size, map, write
 *     the header and the sequences (the magic last), and convert to {@code flock(LOCK_SH | LOCK_NB)}.</li>
 * <li>The lock lives as long as the mapping: keep the descriptor open until {@code munmap} (fdkit does, to map
 *     what a grow adds), or close it after {@code mmap} — a mapping holds its open file description, and Linux
 *     drops a flock with the last reference to it. Exit or a crash unmaps, and so unlocks.</li>
 * </ul>
 * Why flock: it belongs to the open file description, not the process, so two mappings in one process
 * conflict as two processes do, and it outlives the descriptor as long as the mapping does. POSIX
 * {@code fcntl} locks (what {@code FileChannel.lock} takes) have neither property: a process never conflicts
 * with itself, and closing any of its descriptors of the file drops them. OFD locks ({@code F_OFD_SETLK})
 * would do too, at the price of a {@code struct flock}; flock is one call for a C peer. It is advisory, and
 * meant for local file systems ({@code /dev/shm}, tmpfs, ext4...): on NFS, Linux emulates it with
 * {@code fcntl} locks.
 * <p>
 * Nothing protects against writers outside the protocol: {@code truncate(1)}, a shell's {@code >}, a peer that
 * takes no lock or an fdkit older than this protocol can still shrink a mapped file, and the next access
 * through this object then throws that InternalError on the accessing thread. Linux has no mandatory locks
 * (gone in 5.15) and file seals apply only to memfd/shmem files: keep ring files where only their users can
 * write them.
 *
 * <h2>Doorbell</h2>
 * Producers ring only when the consumer armed the doorbell after finding the ring empty, so steady-state
 * offers make no syscall. To ring, a producer swaps {@code armed} to 0 (atomically, after claiming its slot;
 * if it was 0 another producer rang), adds 1 to the doorbell word, then: if {@code armed} held its own
 * mapping's id, signals its eventfd; otherwise wakes every waiter on the doorbell word (FUTEX_WAKE, shared).
 * A C peer always does the latter.
 * <p>
 * The consumer waits in one of two ways. {@link #awaitNonEmpty} blocks on the doorbell word: any producer,
 * in any process, wakes it. {@link #onCompletions} (or {@link #armDoorbell} with {@link #fd()} in your own
 * loop) waits on this object's eventfd, which only producers using this same object can signal; for every
 * other producer — another CompletionRing object on the same file, another process, a C peer — the ring
 * keeps an io_uring FUTEX_WAIT on the doorbell word in flight (on {@link Uring#shared()}) whose completion
 * signals the eventfd. That needs {@link Feature#IO_URING_FUTEX} (Linux 6.7, io_uring allowed): without it
 * only producers using this object wake an eventfd consumer — check {@code Linux.has(Feature.IO_URING_FUTEX)},
 * or consume with {@link #awaitNonEmpty} on a thread of yours.
 * <p>
 * The doorbell is the first segment's whatever segment records go to, so a consumer waiting either way
 * keeps working across {@link #grow}.
 * <p>
 * After {@link #close()} every method but {@code close}, {@code toString}, {@code capacity} and
 * {@code memory} throws IllegalStateException("CompletionRing is closed").
 * <p>
 * Its parts: {@code RingSegment} (one segment's memory, claim and publish) and {@code RingFile} (the file and
 * its lock protocol). Its length is mostly this comment: the protocol a C peer implements belongs in the
 * public documentation, next to the public API that keeps it.
 */
public final class CompletionRing implements Pollable, AutoCloseable {
    /** Handler for {@link #drain}: receives the fields, allocation-free. */
    @FunctionalInterface
    public interface Handler {
        /**
         * Receives one record, on the consumer's thread, in ring order.
         *
         * @param cookie the producer's tag
         * @param obj    what the record is about, as the producer chose
         * @param res    the outcome, as the producer chose
         * @param res2   a second value, as the producer chose
         */
        void onCompletion(long cookie, long obj, long res, long res2);
    }

    private static final long IDLE = 0;
    private static final long ARMED_FUTEX = 1;
    private static final AtomicLong INSTANCES = new AtomicLong();

    private static final VarHandle LONG = JAVA_LONG.varHandle();

    private final Arena arena;
    private final MemorySegment memory; // the first segment: its armed and doorbell words are the ring's
    private final RingFile file; // null for allocate()
    private final String name; // the file, for messages
    private volatile RingSegment producer; // the newest segment this object knows of: offers claim there first
    private volatile RingSegment consumer; // the oldest segment that may still hold records: drains start there
    private final EventFd doorbellFd;
    private final Futex doorbell;
    private final long id; // what `armed` holds when this object's eventfd is the doorbell
    private final AtomicInteger waiters = new AtomicInteger(); // threads in awaitNonEmpty: close() waits for them
    private final Object lock = new Object();
    private volatile boolean closed; // written under lock
    private CompletableFuture<Completion> listening; // the FUTEX_WAIT for other mappings' rings, or null; under lock
    private long listeningCookie; // under lock

    /** A ring of {@code segments} (the first one first: the file's start for a file), the last the newest. */
    private CompletionRing(Arena arena, RingFile file, String name, RingSegment... segments) {
        this.arena = arena;
        this.file = file;
        this.name = name;
        for (int i = 1; i < segments.length; i++) segments[i - 1].next = segments[i];
        this.memory = segments[0].memory;
        this.consumer = segments[0];
        this.producer = segments[segments.length - 1];
        this.doorbell = Futex.sharedWord(memory, DOORBELL_OFFSET);
        this.id = newId();
        this.doorbellFd = EventFd.open();
    }

    /**
     * An id no other mapping of the ring is likely to have, in this process or another (containers can
     * share pids): pid, a counter and random bits, mixed. Never 0 or 1, which mean something else in {@code armed}.
     */
    private static long newId() {
        for (;;) {
            long z = ProcessHandle.current().pid() * 0x9E3779B97F4A7C15L + INSTANCES.incrementAndGet();
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            long id = z ^ (z >>> 31) ^ ThreadLocalRandom.current().nextLong();
            if (id != IDLE && id != ARMED_FUTEX) return id;
        }
    }

    /**
     * A ring in this process's memory.
     *
     * @param capacity the number of records: a power of two between 2 and 2^26
     * @return a new empty ring, owned by the caller: close it to free the memory
     * @throws IllegalArgumentException if {@code capacity} is not a power of two between 2 and 2^26
     */
    public static CompletionRing allocate(int capacity) {
        checkCapacity(capacity);
        Arena arena = Arena.ofShared();
        RingSegment segment = RingSegment.allocate(arena, capacity, 0);
        return new CompletionRing(arena, null, "memory", segment);
    }

    /**
     * Creates {@code file}, or resets it if no one maps it, as an empty ring of {@code capacity} records, and
     * maps it shared. Whatever the file held is replaced.
     *
     * @param file     the ring file; created with mode 0666 (less the umask) if absent
     * @param capacity the number of records: a power of two between 2 and 2^26
     * @return the new empty ring, mapped shared: close it to unmap and release the flock
     * @throws IllegalArgumentException if {@code capacity} is not a power of two between 2 and 2^26
     * @throws IOException naming the file if a mapping of it exists anywhere (a CompletionRing in this or
     *                     another process, a C peer following the protocol in the class comment): resetting
     *                     would cut the memory from under it. Close every mapping first, or {@link #open} it.
     */
    public static CompletionRing create(Path file, int capacity) throws IOException {
        checkCapacity(capacity);
        Objects.requireNonNull(file, "file");
        return onFile(RingFile.create(file, capacity));
    }

    /**
     * Maps an existing ring file (made by {@link #create} here or elsewhere), checking its header against the
     * file's size before mapping it.
     *
     * @param file the ring file
     * @return the ring, mapped shared with its records as they are: close it to unmap and release the flock
     * @throws java.nio.file.NoSuchFileException if there is no such file
     * @throws IOException naming the file and the problem: not a ring, a version or record size this fdkit
     *                     does not read, a capacity that does not match the file's size, or a file being
     *                     created right now (try again once its {@code create} has returned)
     */
    public static CompletionRing open(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        return onFile(RingFile.open(file));
    }

    private static CompletionRing onFile(RingFile file) {
        try {
            return new CompletionRing(file.arena(), file, file.name(), file.segments());
        } catch (RuntimeException e) { // no eventfd (EMFILE)
            file.abandon();
            throw e;
        }
    }

    /** offer()'s answer for a full ring, recorded as a JFR event where a recording wants it. */
    private static boolean refuseFull(int capacity) {
        if (!FdkitEvents.recorderStarted()) return false;
        FdkitEvents.RingFull event = new FdkitEvents.RingFull();
        if (event.shouldCommit()) {
            event.capacity = capacity;
            event.commit();
        }
        return false;
    }

    /**
     * The number of records the newest segment this object knows of holds when full; still answers after
     * close. A grow through another mapping shows here once this object has offered into the new segment.
     *
     * @return a power of two between 2 and 2^26
     */
    public int capacity() {
        return producer.capacity;
    }

    /**
     * Records waiting to be consumed (a snapshot), in every segment not yet drained.
     *
     * @return 0 or more, claimed slots included even if not yet published
     */
    public int size() {
        requireOpen();
        long size = 0;
        for (RingSegment s = consumer; ; s = next(s)) {
            long tail = s.lvTail();
            size += Math.max(0, (tail & ~MOVED) - s.lvHead());
            if (tail >= 0) return (int) Math.min(size, Integer.MAX_VALUE);
        }
    }

    /** No producer has claimed a slot the consumer has not consumed: the arming side of the Dekker pair in offer(). */
    private boolean nothingClaimed() {
        for (RingSegment s = consumerSegment(); ; s = next(s)) {
            long tail = s.lvTail(); // after the caller's store to armed: claims in any segment, moved bit included
            if ((tail & ~MOVED) != s.lvHead()) return false;
            if (tail >= 0) return true; // the newest segment: a producer that claims after this sees armed
        }
    }

    /**
     * Whether the consumer would find nothing now (a snapshot).
     *
     * @return true if the next record in order is not yet published
     */
    public boolean isEmpty() {
        requireOpen();
        for (RingSegment s = consumerSegment(); ; s = next(s)) {
            long head = s.lvHead();
            if (s.lvSequence(head) == head + 1) return false;
            if (!s.drainedAt(head)) return true;
        }
    }

    // ------------------------------------------------------------------ producers

    /**
     * Appends a record; false if the ring is full (back-pressure). Lock-free, any thread or process.
     * Makes a syscall only when the consumer has armed the doorbell, or (once) to map a segment that a grow
     * through another mapping added.
     *
     * @param cookie the producer's tag, for the consumer to match the record
     * @param obj    what the record is about (a pid, a descriptor...)
     * @param res    the outcome
     * @param res2   a second value, 0 if none
     * @return true if appended, false if the ring was full and nothing was written
     */
    public boolean offer(long cookie, long obj, long res, long res2) {
        requireOpen();
        RingSegment s = producer;
        long position;
        for (;;) {
            position = s.lvTail();
            if (position < 0) { // MOVED, the sign bit: this segment takes no more claims
                s = nextForProducers(s);
                continue;
            }
            // Room is judged by a cached head, re-read only when the ring looks full: the consumer's head line
            // is then read about once per lap, not once per record.
            long cached = s.laHeadCache();
            if (position - cached >= s.capacity) {
                long head = s.laHead(); // acquire: the consumer has read the records before this head
                // Stored only when it moved: producers retrying on a full ring must not keep writing the line the
                // segment's fields share. Racing producers may store an older head: too low is only conservative.
                if (head != cached) s.soHeadCache(head);
                if (position - head >= s.capacity) return refuseFull(s.capacity);
            }
            // Fails if a grow set MOVED since the load: no claim ever lands in a replaced segment.
            if (s.casTail(position, position + 1)) break;
            Thread.onSpinWait();
        }
        // Dekker with the consumer: our claim (a CAS, a full fence) comes before this load of `armed`; the
        // consumer's store to `armed` comes before its re-check of the tails (claims, not publications). So
        // either we see it armed and ring, or it sees our claim and does not sleep. That lets the publication
        // below be a plain release store, as in Agrona, instead of a second full fence.
        boolean ringAfterPublishing = lvArmed() != IDLE;
        s.write(position, cookie, obj, res, res2);
        if (ringAfterPublishing) ring();
        return true;
    }

    /**
     * {@link #offer(long, long, long, long)} for a record.
     *
     * @param completion the record to append; not null
     * @return true if appended, false if the ring was full
     */
    public boolean offer(Completion completion) {
        Objects.requireNonNull(completion, "completion");
        return offer(completion.cookie(), completion.obj(), completion.res(), completion.res2());
    }

    private void ring() {
        long armed = xchgArmed(IDLE);
        if (armed == IDLE) return; // another producer rang first
        doorbell.getAndAdd(1);
        if (armed == id) doorbellFd.trySignal(1);
        else doorbell.wakeAll(); // awaitNonEmpty, or another mapping's eventfd consumer through its io_uring FUTEX_WAIT
    }

    // ------------------------------------------------------------------ the consumer

    /**
     * Consumes up to {@code limit} records in order, calling {@code handler} for each; returns how many.
     * One consumer at a time; no allocation.
     *
     * @param handler called for each record, on this thread, before the next one is read
     * @param limit   the most records to consume, at least 1
     * @return the number consumed, 0 if the ring was empty
     * @throws IllegalArgumentException if {@code limit} is less than 1
     */
    public int drain(Handler handler, int limit) {
        requireOpen();
        Objects.requireNonNull(handler, "handler");
        if (limit < 1) throw new IllegalArgumentException("limit must be at least 1, was " + limit);
        RingSegment s = consumer;
        long head = s.lvHead();
        int consumed = 0;
        while (consumed < limit) {
            if (s.laSequence(head) != head + 1) { // acquire: the record's fields after its publication
                if (!s.drainedAt(head)) break;
                // Every position the replaced segment gave out is consumed: only now its successor's records.
                s = next(s);
                consumer = s;
                head = s.lvHead();
                continue;
            }
            long record = recordOffset(head & s.mask);
            long cookie = s.memory.get(JAVA_LONG, record + COOKIE_OFFSET);
            long obj = s.memory.get(JAVA_LONG, record + OBJ_OFFSET);
            long res = s.memory.get(JAVA_LONG, record + RES_OFFSET);
            long res2 = s.memory.get(JAVA_LONG, record + RES2_OFFSET);
            head++;
            consumed++;
            // The slot is free before the handler runs: a drain that keeps finding records (a producer feeding
            // it one by one) must not hold the slots it has read until the batch ends, or the ring would refuse
            // offers while logically empty. A handler that throws has consumed its record.
            s.soHead(head); // release: the record is read before producers may reuse its slot
            handler.onCompletion(cookie, obj, res, res2);
        }
        return consumed;
    }

    /**
     * Consumes the next record (allocates; {@link #drain} does not).
     *
     * @return the next record, or null if the ring is empty
     */
    public Completion poll() {
        Completion[] one = new Completion[1];
        drain((c, o, r, r2) -> one[0] = new Completion(c, o, r, r2), 1);
        return one[0];
    }

    /**
     * Arms the eventfd doorbell: the next offer signals {@link #fd()} — through this object directly, from
     * any other producer through an io_uring FUTEX_WAIT (see the class comment). Returns false (and leaves
     * the doorbell armed) if records are already waiting: drain them, then arm again.
     *
     * @return true if armed on an empty ring, false if records are waiting
     */
    public boolean armDoorbell() {
        requireOpen();
        int ticket = doorbell.get(); // before arming: a producer that takes this arming moves the word past it
        svArmed(id); // volatile: ordered before nothingClaimed()'s loads (the Dekker pair with offer)
        if (!nothingClaimed()) return false;
        listenForOtherMappings(ticket);
        return true;
    }

    /**
     * Keeps one IORING_OP_FUTEX_WAIT on the doorbell word in flight while the eventfd doorbell is armed:
     * producers through other mappings wake the word, not this object's eventfd, and the wait's completion
     * signals the eventfd for them. One wait serves every arming until a ring through another mapping
     * completes it; a wait submitted with a stale ticket completes at once (EAGAIN), which is only a
     * spurious signal.
     */
    private void listenForOtherMappings(int ticket) {
        CompletableFuture<Completion> wait;
        synchronized (lock) {
            if (closed || listening != null || !Linux.has(Feature.IO_URING_FUTEX)) return;
            Uring uring = Uring.shared();
            listeningCookie = uring.nextCookie();
            wait = listening = uring.submit(new Uring.FutexWait(doorbell, ticket, listeningCookie));
        }
        wait.whenComplete((completion, error) -> heard(wait));
    }

    private void heard(CompletableFuture<Completion> wait) {
        synchronized (lock) {
            if (listening == wait) listening = null;
            if (!closed) doorbellFd.trySignal(1); // under the lock: close() closes the eventfd after setting `closed`
        }
    }

    /**
     * Waits (on the header's futex word, so producers in other processes can wake it) until the ring is
     * non-empty or {@code timeout} passes (zero or negative: only looks); returns whether it is non-empty. On a
     * platform thread it blocks in futex(2); on a virtual thread it waits as {@link Futex#await(int, Duration)} does.
     * <p>
     * {@link #close()} on another thread wakes the wait, which then throws IllegalStateException, and closes
     * the ring once it has left.
     *
     * @param timeout how long to wait at most; not null
     * @return true if the ring is non-empty, false if the timeout passed first
     * @throws IllegalStateException    if the ring is closed, before or during the wait
     */
    public boolean awaitNonEmpty(Duration timeout) {
        long nanos = Durations.timeoutNanos(timeout, "timeout");
        waiters.incrementAndGet(); // before the first look at `closed`: close() waits for us to leave, then frees the memory
        try {
            // Elapsed time against the timeout, not nanoTime() + timeout as a deadline: that overflows for
            // long timeouts and would turn "wait (practically) forever" into "do not wait".
            long start = System.nanoTime();
            for (;;) {
                requireOpen();
                if (!isEmpty()) return true;
                int ticket = doorbell.get();
                // After the ticket: a close() that set `closed` after this check moves the word past the ticket.
                requireOpen();
                svArmed(ARMED_FUTEX); // volatile: ordered before nothingClaimed()'s loads
                if (!nothingClaimed()) { // claimed: published at once, or very soon
                    if (!isEmpty()) return true;
                    Thread.onSpinWait();
                    continue;
                }
                long left = nanos - (System.nanoTime() - start);
                if (left <= 0) return false;
                doorbell.await(ticket, Duration.ofNanos(left));
            }
        } finally {
            waiters.decrementAndGet();
        }
    }

    /**
     * Drains on {@code poller}'s thread whenever records arrive: registers the eventfd doorbell, and after
     * each batch re-arms it, so producers ring only on the empty to non-empty transition. Producers through
     * other mappings wake it only where {@link Feature#IO_URING_FUTEX} is available (see the class comment).
     * Closing the ring cancels the registration.
     *
     * @param poller  the poller whose thread drains; the shared one, or one you drive
     * @param handler called for each record on the poller's thread; keep it short
     * @return the registration: cancel it to stop consuming
     */
    public Poller.Registration onCompletions(Poller poller, Handler handler) {
        requireOpen();
        Objects.requireNonNull(poller, "poller");
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

    /** The eventfd doorbell: readable after a ring of the armed doorbell (see {@link #armDoorbell}). */
    @Override
    public int fd() {
        requireOpen();
        return doorbellFd.fd();
    }

    /**
     * The ring's memory (header included), for peers and tests. After close the segment is no longer alive.
     *
     * @return the whole mapped or allocated segment, in the layout of the class comment
     */
    public MemorySegment memory() {
        return memory;
    }

    /**
     * Unmaps or frees the memory and closes the doorbell; idempotent. A consumer waiting in
     * {@link #awaitNonEmpty} is woken (it throws IllegalStateException) and the memory is freed after it has
     * left; {@link #onCompletions} registrations are cancelled. Other producers and consumers of this object
     * must have stopped: a call racing with close may fail with IllegalStateException.
     */
    @Override
    public void close() {
        CompletableFuture<Completion> wait;
        long cookie;
        synchronized (lock) {
            if (closed) return;
            closed = true;
            wait = listening;
            cookie = listeningCookie;
        }
        if (waiters.get() > 0 || wait != null) {
            // Nobody may still wait on memory about to go: move the word (a waiter about to sleep sees
            // EAGAIN) and wake every waiter on it — awaitNonEmpty here, our io_uring wait. Other mappings'
            // consumers may wake too: a spurious wake-up, which they re-check.
            doorbell.getAndAdd(1);
            doorbell.wakeAll();
        }
        if (wait != null) {
            CompletableFuture<Completion> cancel = Uring.shared().cancel(cookie); // should it not have reached the futex yet
            // The shared poller's thread completes both; wait for them (nothing of ours left in flight) unless that is us.
            if (!SharedLoop.isLoopThread()) {
                cancel.exceptionally(e -> null).join();
                wait.exceptionally(e -> null).join();
            }
        }
        while (waiters.get() > 0) Thread.yield(); // woken above, on their way out (yield: they may need our carrier)
        doorbellFd.close();
        arena.close();
        if (file != null) file.close();
    }

    @Override
    public String toString() {
        if (closed) return "CompletionRing(capacity=" + capacity() + ", closed)";
        return "CompletionRing(capacity=" + capacity() + ", size=" + size() + ")";
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("CompletionRing is closed");
    }

    // ------------------------------------------------------------------ growing

    /**
     * Replaces the ring's newest segment with one of {@code newCapacity} slots, while producers run: records
     * already offered stay where they are and are drained first, in order; later offers — through this object,
     * another mapping of the file, another process or a C peer — go to the new segment (the protocol is in the
     * class comment). The doorbell does not change: {@link #fd()}, an {@link #onCompletions} registration and
     * a consumer in {@link #awaitNonEmpty} keep working. Producers in other processes see the new segment at
     * their next offer, which maps it (one mmap per grow and mapping).
     * <p>
     * Meant for the consumer (a drain handler may call it, e.g. on {@link #onCompletions}'s thread), when the
     * ring keeps filling up; any thread of any mapping may call it. Calls through one object run one at a
     * time; a grow racing with one through another mapping of the file fails (IllegalStateException) and can
     * be retried. Replaced segments keep their memory (file space) until {@link #close()} (the file's next
     * {@link #create}): less than the newest segment's in all, as capacities at least double.
     *
     * @param newCapacity the new segment's number of records: a power of two, larger than {@link #capacity()}
     *                    and at most 2^26
     * @throws IllegalArgumentException if {@code newCapacity} is not a power of two at most 2^26 above the capacity
     * @throws IllegalStateException    if a grow through another mapping of the file is under way
     * @throws IOException              naming the file if it cannot be extended or mapped (ENOSPC, ENOMEM...):
     *                                  then the ring is as it was
     */
    public void grow(int newCapacity) throws IOException {
        if (!RingSegment.isValidCapacity(newCapacity)) throw new IllegalArgumentException("newCapacity must be a power of two between 2 and 2^26, was " + newCapacity);
        synchronized (lock) {
            requireOpen();
            RingSegment newest = producer;
            while (newest.lvTail() < 0) newest = next(newest);
            if (newCapacity <= newest.capacity) {
                throw new IllegalArgumentException("newCapacity must be larger than the capacity, " + newest.capacity + ", was " + newCapacity);
            }
            if (!newest.casNext(NEWEST, GROWING)) {
                throw new IllegalStateException("CompletionRing is being grown through another mapping of " + name + ": try again once that grow is done");
            }
            RingSegment grown;
            try {
                grown = file == null ? RingSegment.allocate(arena, newCapacity, newest.generation + 1) : file.append(newest, newCapacity);
            } catch (IOException | RuntimeException | Error e) {
                newest.soNext(NEWEST); // the ring is as it was: the next grow may try again
                throw e;
            }
            newest.next = grown; // for producers through this object: before MOVED, which they read first
            newest.soNext(grown.link); // for other mappings
            newest.setMoved(); // no claim succeeds here from now on; the consumer drains up to this tail
            producer = grown;
        }
    }

    /** The segment after {@code s}, which a grow has linked (s's tail has MOVED): for a file mapped if need be. */
    private RingSegment next(RingSegment s) {
        RingSegment next = s.next;
        return next != null ? next : mapNext(s);
    }

    /** {@link #next} for a segment a grow through another mapping replaced: maps the new one, once per mapping. */
    private RingSegment mapNext(RingSegment s) {
        synchronized (lock) {
            requireOpen();
            if (s.next != null) return s.next;
            long link = s.laNext(); // acquire: the grower initialised the segment before linking it
            if (file == null || link != segmentAfter(s.offset, s.capacity)) {
                throw new IllegalStateException(name + ": segment " + s.generation + " is closed to producers but links "
                        + link + ", not a segment at " + segmentAfter(s.offset, s.capacity) + ": a peer broke the grow protocol");
            }
            RingSegment next = file.mapNext(s, link);
            s.next = next;
            return next;
        }
    }

    /** {@link #next} for offer(), which also makes it this object's newest segment for the next offers. */
    private RingSegment nextForProducers(RingSegment s) {
        RingSegment next = next(s);
        if (producer == s) producer = next; // a racing producer may store an older one: the next offer walks on again
        return next;
    }

    /** The segment the next record to consume is in: past every replaced segment the consumer has drained. */
    private RingSegment consumerSegment() {
        RingSegment s = consumer;
        while (s.drainedAt(s.lvHead())) s = next(s);
        consumer = s; // monotonic enough: an older one (from a racing snapshot) is walked past again
        return s;
    }

    // ------------------------------------------------------------------ shared memory, memory order in the name

    // JCTools' convention: lv = load volatile, la = load acquire, sv = store volatile, so = store ordered
    // (release), cas = compare-and-set, xchg = get-and-set. Offsets come from CompletionRingLayout.

    private long lvArmed() {
        return (long) LONG.getVolatile(memory, ARMED_OFFSET);
    }

    private void svArmed(long armed) {
        LONG.setVolatile(memory, ARMED_OFFSET, armed);
    }

    private long xchgArmed(long armed) {
        return (long) LONG.getAndSet(memory, ARMED_OFFSET, armed);
    }

    private static void checkCapacity(int capacity) {
        if (!RingSegment.isValidCapacity(capacity)) {
            throw new IllegalArgumentException("capacity must be a power of two between 2 and 2^26, was " + capacity);
        }
    }
}
