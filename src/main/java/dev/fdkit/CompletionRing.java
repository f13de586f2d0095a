package dev.fdkit;

import dev.fdkit.internal.Durations;
import dev.fdkit.internal.Errno;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.fdkit.CompletionRingLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A bounded ring of {@link Completion} records in off-heap memory: many producers, one consumer — the
 * asyncfd design done in user space, usable between processes through a mapped file.
 *
 * <h2>Layout (version 3, little-endian; a C peer can produce into it)</h2>
 * <pre>
 * offset   size  field
 *      0      4  magic 0x52444B46 ("FKDR")
 *      4      4  version = 3
 *      8      4  capacity: a power of two
 *     12      4  record size = 32
 *    128      8  tail: next position to claim; producers claim by CAS
 *    256      8  head: next position to consume; written by the consumer only
 *    384      8  armed: 0 = consumer busy, 1 = the consumer waits on the futex doorbell, any other value =
 *                the consumer wants the eventfd doorbell of the mapping (CompletionRing object) with that id
 *    392      4  doorbell futex word (a shared futex), incremented on every ring
 *    512  32*capacity  records {u64 cookie, u64 obj, s64 res, s64 res2}
 *    512+32*capacity   8*capacity  sequence per slot (Vyukov bounded queue)
 * </pre>
 * Tail, head and the doorbell fields each have a 128-byte block (two cache lines, one adjacent-line
 * prefetch pair) of their own, so producers and the consumer do not drag each other's lines along.
 * Slot {@code i} starts with sequence {@code i}. A producer at position {@code p} (slot {@code p & (capacity-1)})
 * may write when {@code p - head < capacity} (head read with acquire: the consumer is done with the slot's
 * previous record), claims {@code p} by CAS on tail, writes the record, then publishes with sequence
 * {@code p+1} (release). The consumer reads slot {@code h} when its sequence is {@code h+1} (acquire) and
 * advances head (release) after each record; it never writes a sequence, so in steady state the sequence
 * lines travel one way only, producer to consumer. A half-written record is never read. A full ring refuses
 * ({@link #offer} returns false): never overwrite, never loss.
 *
 * Version 1 had a 4-byte armed word (1 = eventfd, 2 = futex) and the doorbell at 196; it could not say
 * whose eventfd was armed (see below). Version 2 had tail, head and armed one cache line apart (64, 128,
 * 192; doorbell 200, records at 256). Neither is readable as version 3.
 *
 * <h2>Sharing a ring file: the lock protocol</h2>
 * A mapping of a file that shrinks under it faults (SIGBUS) at its next access beyond the new end; the JVM
 * reports that as {@code InternalError: a fault occurred in an unsafe memory access operation}. So the file's
 * size and header change only under an exclusive lock, and every mapping holds a shared one, with
 * {@code flock(2)} on the whole file:
 * <ul>
 * <li>Map an existing ring: {@code open(O_RDWR)}, {@code flock(LOCK_SH | LOCK_NB)} (EWOULDBLOCK: it is being
 *     created, try again later), check the header (magic, version, record size, capacity) and that the file
 *     size is exactly {@code 512 + 40 * capacity}, then {@code mmap(MAP_SHARED)} that many bytes.</li>
 * <li>Create or reset: {@code open(O_RDWR | O_CREAT)}, {@code flock(LOCK_EX | LOCK_NB)} — EWOULDBLOCK means a
 *     mapping exists: refuse, never truncate — then {@code ftruncate} to 0 and to the new size, map, write
 *     the header and the sequences (the magic last), and convert to {@code flock(LOCK_SH | LOCK_NB)}.</li>
 * <li>The lock lives as long as the mapping: keep the descriptor open until {@code munmap}, or close it after
 *     {@code mmap} as fdkit does — a mapping holds its open file description, and Linux drops a flock with the
 *     last reference to it. Exit or a crash unmaps, and so unlocks.</li>
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
 * After {@link #close()} every method but {@code close}, {@code toString}, {@code capacity} and
 * {@code memory} throws IllegalStateException("CompletionRing is closed").
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
    private static final VarHandle HEAD_CACHE;

    static {
        try {
            HEAD_CACHE = java.lang.invoke.MethodHandles.lookup().findVarHandle(CompletionRing.class, "headCache", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Arena arena;
    private final MemorySegment memory;
    private final int capacity;
    private final long mask;
    private final long sequences; // offset of slot 0's sequence
    @SuppressWarnings("unused") // through HEAD_CACHE: a head the producers of this mapping saw, never above the real one
    private long headCache;
    private final EventFd doorbellFd;
    private final Futex doorbell;
    private final long id; // what `armed` holds when this object's eventfd is the doorbell
    private final AtomicInteger waiters = new AtomicInteger(); // threads in awaitNonEmpty: close() waits for them
    private final Object lock = new Object();
    private volatile boolean closed; // written under lock
    private CompletableFuture<Completion> listening; // the FUTEX_WAIT for other mappings' rings, or null; under lock
    private long listeningCookie; // under lock

    private CompletionRing(Arena arena, MemorySegment memory, int capacity) {
        this.arena = arena;
        this.memory = memory;
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.sequences = sequenceOffset(capacity, 0);
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
        MemorySegment memory = arena.allocate(byteSize(capacity), 4096);
        initialize(memory, capacity);
        return new CompletionRing(arena, memory, capacity);
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
        long size = byteSize(capacity);
        return mapLocked(file, Uapi.O_CREAT, (fd, arena) -> {
            if (!Syscalls.flock(fd, Uapi.LOCK_EX | Uapi.LOCK_NB)) {
                throw new IOException(file + " is in use: another CompletionRing or peer, in this or another process, has it mapped"
                        + " (it holds the shared flock); create() would truncate it under them. Close every mapping first, or open() it");
            }
            Syscalls.ftruncate(fd, 0); // then every byte of the new ring reads zero, whatever the file held
            Syscalls.ftruncate(fd, size);
            MemorySegment memory = Syscalls.mmapFile(fd, size, arena, "fd=" + fd);
            initialize(memory, capacity);
            // Now others may map it. Converting a flock is atomic in current kernels; where it is not, a
            // create() slipping in between takes the exclusive lock, we fail here and touch nothing more.
            if (!Syscalls.flock(fd, Uapi.LOCK_SH | Uapi.LOCK_NB)) throw new IOException(file + ": another create() took the file while this one initialised it");
            return new CompletionRing(arena, memory, capacity);
        });
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
        return mapLocked(file, 0, (fd, arena) -> {
            if (!Syscalls.flock(fd, Uapi.LOCK_SH | Uapi.LOCK_NB)) {
                throw new IOException(file + " is being created (its creator holds the exclusive flock): try again once it has been created");
            }
            long size = Syscalls.lseek(fd, 0, Uapi.SEEK_END); // stable from here: whoever resizes the file needs the exclusive lock
            int capacity = checkHeader(file, fd, size);
            return new CompletionRing(arena, Syscalls.mmapFile(fd, size, arena, "fd=" + fd), capacity);
        });
    }

    /** Maps a ring through a descriptor of {@code file}: after {@link #mapLocked}'s open, before its close. */
    @FunctionalInterface
    private interface Mapper {
        CompletionRing map(int fd, Arena arena) throws IOException, SyscallException;
    }

    /**
     * Opens {@code file} read-write, lets {@code mapper} lock and map it, then closes the descriptor: the
     * mapping keeps the open file description, and with it the flock, until it is unmapped. Failures name the file.
     */
    private static CompletionRing mapLocked(Path file, int flags, Mapper mapper) throws IOException {
        int fd;
        try {
            fd = Syscalls.open(file.toString(), Uapi.O_RDWR | flags, 0666);
        } catch (SyscallException e) {
            if (e.errno() != Errno.ENOENT) throw ErrnoException.of(e); // its message names the file
            throw (IOException) new NoSuchFileException(file.toString()).initCause(ErrnoException.of(e));
        }
        Arena arena = Arena.ofShared();
        try {
            return mapper.map(fd, arena);
        } catch (SyscallException e) {
            arena.close();
            throw ErrnoException.of(e, file.toString());
        } catch (IOException | RuntimeException e) {
            arena.close();
            throw e;
        } finally {
            try {
                Syscalls.close(fd);
            } catch (SyscallException e) {
                throw ErrnoException.of(e, file.toString());
            }
        }
    }

    /** offer()'s answer for a full ring, recorded as a JFR event where a recording wants it. */
    private boolean refuseFull() {
        FdkitEvents.RingFull event = new FdkitEvents.RingFull();
        if (event.shouldCommit()) {
            event.capacity = capacity;
            event.commit();
        }
        return false;
    }

    /** The capacity {@code file}'s header declares, after checking the header and the file's size against it. */
    private static int checkHeader(Path file, int fd, long size) throws IOException, SyscallException {
        if (size < HEADER_LENGTH) throw new IOException(file + " is not a completion ring: " + size + " bytes, less than its " + HEADER_LENGTH + "-byte header");
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment header = scratch.allocate(HEADER_LENGTH, 8);
            long read = Syscalls.pread(fd, header, HEADER_LENGTH, 0);
            if (read < HEADER_LENGTH) throw new IOException(file + " is not a completion ring: its header ends after " + read + " bytes");
            int magic = header.get(JAVA_INT, MAGIC_OFFSET);
            int version = header.get(JAVA_INT, VERSION_OFFSET);
            int capacity = header.get(JAVA_INT, CAPACITY_OFFSET);
            int recordSize = header.get(JAVA_INT, RECORD_SIZE_OFFSET);
            if (magic != MAGIC) throw new IOException(file + " is not a completion ring (magic 0x" + Integer.toHexString(magic) + ")");
            if (version != VERSION) throw new IOException(file + ": ring version " + version + ", this fdkit reads version " + VERSION);
            if (recordSize != RECORD_LENGTH) throw new IOException(file + ": record size " + recordSize + ", this fdkit reads " + RECORD_LENGTH + "-byte records");
            // The same rule as create(): with one slot, a producer finds a published, unconsumed slot's
            // sequence equal to its own position and overwrites it, and the consumer never sees it again.
            if (!isValidCapacity(capacity)) throw new IOException(file + ": capacity " + capacity + " is not a power of two between 2 and 2^26");
            if (byteSize(capacity) != size) {
                throw new IOException(file + ": capacity " + capacity + " needs " + byteSize(capacity) + " bytes, but the file size is " + size);
            }
            return capacity;
        }
    }

    /**
     * The number of records the ring holds when full; still answers after close.
     *
     * @return a power of two between 2 and 2^26
     */
    public int capacity() {
        return capacity;
    }

    /**
     * Records waiting to be consumed (a snapshot).
     *
     * @return between 0 and {@link #capacity()}, claimed slots included even if not yet published
     */
    public int size() {
        requireOpen();
        long size = lvTail() - lvHead();
        return (int) Math.max(0, Math.min(size, capacity));
    }

    /** No producer has claimed a slot the consumer has not consumed: the arming side of the Dekker pair in offer(). */
    private boolean nothingClaimed() {
        return lvTail() == lvHead();
    }

    /**
     * Whether the consumer would find nothing now (a snapshot).
     *
     * @return true if the next record in order is not yet published
     */
    public boolean isEmpty() {
        requireOpen();
        long head = lvHead();
        return lvSequence(head) != head + 1;
    }

    // ------------------------------------------------------------------ producers

    /**
     * Appends a record; false if the ring is full (back-pressure). Lock-free, any thread or process.
     * Makes a syscall only when the consumer has armed the doorbell.
     *
     * @param cookie the producer's tag, for the consumer to match the record
     * @param obj    what the record is about (a pid, a descriptor...)
     * @param res    the outcome
     * @param res2   a second value, 0 if none
     * @return true if appended, false if the ring was full and nothing was written
     */
    public boolean offer(long cookie, long obj, long res, long res2) {
        requireOpen();
        long position;
        for (;;) {
            position = lvTail();
            // Room is judged by a cached head, re-read only when the ring looks full: the consumer's head line
            // is then read about once per lap, not once per record.
            long cached = laHeadCache();
            if (position - cached >= capacity) {
                long head = laHead(); // acquire: the consumer has read the records before this head
                // Stored only when it moved: producers retrying on a full ring must not keep writing the line this
                // object's fields share. Racing producers may store an older head: too low is only conservative.
                if (head != cached) soHeadCache(head);
                if (position - head >= capacity) return refuseFull();
            }
            if (casTail(position, position + 1)) break;
            Thread.onSpinWait();
        }
        // Dekker with the consumer: our claim (a CAS, a full fence) comes before this load of `armed`; the
        // consumer's store to `armed` comes before its re-check of TAIL (claims, not publications). So either
        // we see it armed and ring, or it sees our claim and does not sleep. That lets the publication below
        // be a plain release store, as in Agrona, instead of a second full fence.
        boolean ringAfterPublishing = lvArmed() != IDLE;
        long record = recordOffset(position & mask);
        memory.set(JAVA_LONG, record + COOKIE_OFFSET, cookie);
        memory.set(JAVA_LONG, record + OBJ_OFFSET, obj);
        memory.set(JAVA_LONG, record + RES_OFFSET, res);
        memory.set(JAVA_LONG, record + RES2_OFFSET, res2);
        soSequence(position, position + 1); // release: the record's fields before the sequence that publishes them
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
        long head = lvHead();
        int consumed = 0;
        while (consumed < limit) {
            if (laSequence(head) != head + 1) break; // acquire: the record's fields after its publication
            long record = recordOffset(head & mask);
            long cookie = memory.get(JAVA_LONG, record + COOKIE_OFFSET);
            long obj = memory.get(JAVA_LONG, record + OBJ_OFFSET);
            long res = memory.get(JAVA_LONG, record + RES_OFFSET);
            long res2 = memory.get(JAVA_LONG, record + RES2_OFFSET);
            head++;
            consumed++;
            // The slot is free before the handler runs: a drain that keeps finding records (a producer feeding
            // it one by one) must not hold the slots it has read until the batch ends, or the ring would refuse
            // offers while logically empty. A handler that throws has consumed its record.
            soHead(head); // release: the record is read before producers may reuse its slot
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
            if (!Poller.isSharedLoopThread()) {
                cancel.exceptionally(e -> null).join();
                wait.exceptionally(e -> null).join();
            }
        }
        while (waiters.get() > 0) Thread.yield(); // woken above, on their way out (yield: they may need our carrier)
        doorbellFd.close();
        arena.close();
    }

    @Override
    public String toString() {
        if (closed) return "CompletionRing(capacity=" + capacity + ", closed)";
        return "CompletionRing(capacity=" + capacity + ", size=" + size() + ")";
    }

    private void requireOpen() {
        if (closed) throw new IllegalStateException("CompletionRing is closed");
    }

    // ------------------------------------------------------------------ shared memory, memory order in the name

    // JCTools' convention: lv = load volatile, la = load acquire, sv = store volatile, so = store ordered
    // (release), cas = compare-and-set, xchg = get-and-set. Offsets come from CompletionRingLayout.

    private long lvTail() {
        return (long) LONG.getVolatile(memory, TAIL_OFFSET);
    }

    private boolean casTail(long expected, long claimed) {
        return LONG.compareAndSet(memory, TAIL_OFFSET, expected, claimed);
    }

    private long lvHead() {
        return (long) LONG.getVolatile(memory, HEAD_OFFSET);
    }

    private long laHead() {
        return (long) LONG.getAcquire(memory, HEAD_OFFSET);
    }

    private void soHead(long head) {
        LONG.setRelease(memory, HEAD_OFFSET, head);
    }

    private long laHeadCache() {
        return (long) HEAD_CACHE.getAcquire(this);
    }

    private void soHeadCache(long head) {
        HEAD_CACHE.setRelease(this, head);
    }

    /** The sequence of the slot of {@code position}. */
    private long lvSequence(long position) {
        return (long) LONG.getVolatile(memory, sequences + (position & mask) * SEQUENCE_LENGTH);
    }

    private long laSequence(long position) {
        return (long) LONG.getAcquire(memory, sequences + (position & mask) * SEQUENCE_LENGTH);
    }

    private void soSequence(long position, long sequence) {
        LONG.setRelease(memory, sequences + (position & mask) * SEQUENCE_LENGTH, sequence);
    }

    private long lvArmed() {
        return (long) LONG.getVolatile(memory, ARMED_OFFSET);
    }

    private void svArmed(long armed) {
        LONG.setVolatile(memory, ARMED_OFFSET, armed);
    }

    private long xchgArmed(long armed) {
        return (long) LONG.getAndSet(memory, ARMED_OFFSET, armed);
    }

    // ------------------------------------------------------------------ layout

    private static void initialize(MemorySegment memory, int capacity) {
        memory.asSlice(0, HEADER_LENGTH).fill((byte) 0);
        memory.set(JAVA_INT, VERSION_OFFSET, VERSION);
        memory.set(JAVA_INT, CAPACITY_OFFSET, capacity);
        memory.set(JAVA_INT, RECORD_SIZE_OFFSET, RECORD_LENGTH);
        for (long i = 0; i < capacity; i++) memory.set(JAVA_LONG, sequenceOffset(capacity, i), i);
        // The magic last: a reader that skips the lock protocol sees no ring rather than half of one.
        VarHandle.fullFence();
        memory.set(JAVA_INT, MAGIC_OFFSET, MAGIC);
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
