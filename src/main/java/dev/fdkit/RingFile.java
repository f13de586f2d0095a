package dev.fdkit;

import dev.fdkit.internal.Errno;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.fdkit.CompletionRingLayout.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A {@link CompletionRing}'s file: its descriptor (kept open to map what a grow adds), its mapping, and the
 * lock protocol of CompletionRing's class comment — create, open and check the chain of segments, extend the
 * file for a grow, map a segment another mapping added. Failures name the file. Methods after create/open run
 * under the ring's lock.
 */
final class RingFile {
    private final int fd;
    private final String name;
    private final Arena arena;
    private MemorySegment mapping; // the longest mapping of the file so far; under the ring's lock
    private final RingSegment[] segments; // what create or open found, the first first

    private RingFile(int fd, String name, Arena arena, MemorySegment mapping, RingSegment... segments) {
        this.fd = fd;
        this.name = name;
        this.arena = arena;
        this.mapping = mapping;
        this.segments = segments;
    }

    /** {@link CompletionRing#create}: a new empty ring of one segment, the file reset under the exclusive lock. */
    static RingFile create(Path file, int capacity) throws IOException {
        long size = byteSize(capacity);
        return mapLocked(file, Uapi.O_CREAT, (fd, arena) -> {
            if (!Syscalls.flock(fd, Uapi.LOCK_EX | Uapi.LOCK_NB)) {
                throw new IOException(file + " is in use: another CompletionRing or peer, in this or another process, has it mapped"
                        + " (it holds the shared flock); create() would truncate it under them. Close every mapping first, or open() it");
            }
            Syscalls.ftruncate(fd, 0); // then every byte of the new ring reads zero, whatever the file held
            Syscalls.ftruncate(fd, size);
            MemorySegment memory = Syscalls.mmapFile(fd, size, arena, file.toString());
            RingSegment.initialize(memory, capacity, 0);
            // Now others may map it. Converting a flock is atomic in current kernels; where it is not, a
            // create() slipping in between takes the exclusive lock, we fail here and touch nothing more.
            if (!Syscalls.flock(fd, Uapi.LOCK_SH | Uapi.LOCK_NB)) throw new IOException(file + ": another create() took the file while this one initialised it");
            return new RingFile(fd, file.toString(), arena, memory, new RingSegment(memory, capacity, 0, 0));
        });
    }

    /** {@link CompletionRing#open}: an existing ring, its chain checked against the file's size before mapping it. */
    static RingFile open(Path file) throws IOException {
        return mapLocked(file, 0, (fd, arena) -> {
            if (!Syscalls.flock(fd, Uapi.LOCK_SH | Uapi.LOCK_NB)) {
                throw new IOException(file + " is being created (its creator holds the exclusive flock): try again once it has been created");
            }
            // Only a grow changes the size now (create needs the exclusive lock), and it links a segment only
            // after extending the file: every segment the chain names lies within this size.
            long size = Syscalls.lseek(fd, 0, Uapi.SEEK_END);
            long[] chain = checkChain(file, fd, size); // offset, capacity, offset, capacity...
            MemorySegment mapping = Syscalls.mmapFile(fd, size, arena, file.toString());
            RingSegment[] segments = new RingSegment[chain.length / 2];
            for (int i = 0; i < segments.length; i++) {
                long offset = chain[2 * i];
                int capacity = (int) chain[2 * i + 1];
                segments[i] = new RingSegment(mapping.asSlice(offset, byteSize(capacity)), capacity, i, offset);
            }
            return new RingFile(fd, file.toString(), arena, mapping, segments);
        });
    }

    /** Maps a ring through a descriptor of {@code file}: after {@link #mapLocked}'s open; the ring keeps the descriptor. */
    @FunctionalInterface
    private interface Mapper {
        RingFile map(int fd, Arena arena) throws IOException, SyscallException;
    }

    /**
     * Opens {@code file} read-write and lets {@code mapper} lock and map it; the ring keeps the descriptor (to
     * map what a grow adds), which a failure closes. Failures name the file.
     */
    private static RingFile mapLocked(Path file, int flags, Mapper mapper) throws IOException {
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
            Syscalls.closeQuietly(fd);
            throw ErrnoException.of(e, file.toString());
        } catch (IOException | RuntimeException e) {
            arena.close();
            Syscalls.closeQuietly(fd);
            throw e;
        }
    }

    /** The segments create or open mapped, the first (the file's start) first, the newest last. */
    RingSegment[] segments() {
        return segments;
    }

    String name() {
        return name;
    }

    /** The memory of the mappings: closing it unmaps them. */
    Arena arena() {
        return arena;
    }

    /** Undoes create or open for a ring that could not be made of it: unmaps and closes the descriptor. */
    void abandon() {
        arena.close();
        Syscalls.closeQuietly(fd);
    }

    /** After the ring's memory is unmapped: the last reference to the open file description, so the flock goes with it. */
    void close() {
        try {
            Syscalls.close(fd);
        } catch (SyscallException e) {
            throw new UncheckedIOException(ErrnoException.of(e, name));
        }
    }

    /**
     * Adds a segment after {@code newest} to the ring file: extends the file first (nobody maps beyond its old
     * end, so no one can fault), maps it whole again, initialises the segment. On failure the file is as it was.
     */
    RingSegment append(RingSegment newest, int capacity) throws IOException {
        long oldEnd = newest.offset + byteSize(newest.capacity);
        long offset = segmentAfter(newest.offset, newest.capacity);
        long end = offset + byteSize(capacity);
        try {
            Syscalls.ftruncate(fd, end);
            MemorySegment memory = mapTo(end).asSlice(offset, byteSize(capacity));
            RingSegment.initialize(memory, capacity, newest.generation + 1);
            return new RingSegment(memory, capacity, newest.generation + 1, offset);
        } catch (SyscallException e) {
            try {
                Syscalls.ftruncate(fd, oldEnd); // safe: beyond oldEnd there is no segment yet, and so no mapping
            } catch (SyscallException undone) {
                e.addSuppressed(undone);
            }
            throw ErrnoException.of(e, name + ": growing the ring to " + capacity + " records");
        }
    }

    /** The segment a grow through another mapping linked after {@code s} at {@code link}, mapped and checked. */
    RingSegment mapNext(RingSegment s, long link) {
        String where = name + ", segment " + (s.generation + 1) + " at offset " + link;
        try {
            // The grower extended the file before linking: its size covers the whole new segment.
            MemorySegment file = mapTo(Math.max(link + HEADER_LENGTH, Syscalls.lseek(fd, 0, Uapi.SEEK_END)));
            String problem = headerProblem(file.asSlice(link, HEADER_LENGTH), s.generation + 1);
            if (problem != null) throw new IllegalStateException(where + problem);
            int capacity = file.get(JAVA_INT, link + CAPACITY_OFFSET);
            if (link + byteSize(capacity) > file.byteSize()) throw new IllegalStateException(where + ": capacity " + capacity + " goes beyond the file's end");
            return new RingSegment(file.asSlice(link, byteSize(capacity)), capacity, s.generation + 1, link);
        } catch (SyscallException e) {
            throw new UncheckedIOException(ErrnoException.of(e, where));
        }
    }

    /** The file mapped at least up to {@code end} (a new mapping of the whole file if the last is shorter). */
    private MemorySegment mapTo(long end) throws SyscallException {
        if (mapping.byteSize() < end) mapping = Syscalls.mmapFile(fd, end, arena, name);
        return mapping;
    }

    /**
     * Walks {@code file}'s segments from offset 0 with pread(2), checking each header and that the file ends
     * where the last segment does; returns their offsets and capacities, in pairs.
     */
    private static long[] checkChain(Path file, int fd, long size) throws IOException, SyscallException {
        if (size < HEADER_LENGTH) throw new IOException(file + " is not a completion ring: " + size + " bytes, less than its " + HEADER_LENGTH + "-byte header");
        long[] chain = new long[8];
        int segments = 0;
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment header = scratch.allocate(HEADER_LENGTH, 8);
            for (long offset = 0; ; segments++) {
                long read = offset + HEADER_LENGTH <= size ? Syscalls.pread(fd, header, HEADER_LENGTH, offset) : 0;
                String where = offset == 0 ? file.toString() : file + ", segment " + segments + " at offset " + offset;
                if (read < HEADER_LENGTH) throw new IOException(where + ": the segment's header ends the file after " + Math.max(0, size - offset) + " bytes");
                String problem = headerProblem(header, segments);
                if (problem != null) throw new IOException(where + problem);
                int capacity = header.get(JAVA_INT, CAPACITY_OFFSET);
                long next = header.get(JAVA_LONG, NEXT_OFFSET);
                long end = offset + byteSize(capacity);
                if (segments * 2 + 2 > chain.length) chain = Arrays.copyOf(chain, chain.length * 2);
                chain[2 * segments] = offset;
                chain[2 * segments + 1] = capacity;
                // A grow that has claimed the newest segment may have extended the file already.
                if (next == NEWEST ? end != size : end > size) {
                    throw new IOException(where + ": capacity " + capacity + " needs " + byteSize(capacity) + " bytes, but the file size is " + (size - offset));
                }
                if (next == NEWEST || next == GROWING) return Arrays.copyOf(chain, 2 * segments + 2);
                if (next != segmentAfter(offset, capacity)) {
                    throw new IOException(where + ": next segment at offset " + next + ", the protocol puts it at " + segmentAfter(offset, capacity));
                }
                offset = next;
            }
        }
    }

    /** What is wrong with a segment's {@code header} (as ": ..." to follow its name), or null if it is generation {@code generation} of a ring. */
    private static String headerProblem(MemorySegment header, int generation) {
        int magic = header.get(JAVA_INT, MAGIC_OFFSET);
        int version = header.get(JAVA_INT, VERSION_OFFSET);
        int capacity = header.get(JAVA_INT, CAPACITY_OFFSET);
        int recordSize = header.get(JAVA_INT, RECORD_SIZE_OFFSET);
        int actualGeneration = header.get(JAVA_INT, GENERATION_OFFSET);
        if (magic != MAGIC) return " is not a completion ring (magic 0x" + Integer.toHexString(magic) + ")";
        if (version != VERSION) return ": ring version " + version + ", this fdkit reads version " + VERSION;
        if (recordSize != RECORD_LENGTH) return ": record size " + recordSize + ", this fdkit reads " + RECORD_LENGTH + "-byte records";
        // The same rule as create(): with one slot, a producer finds a published, unconsumed slot's
        // sequence equal to its own position and overwrites it, and the consumer never sees it again.
        if (!RingSegment.isValidCapacity(capacity)) return ": capacity " + capacity + " is not a power of two between 2 and 2^26";
        if (actualGeneration != generation) return ": generation " + actualGeneration + " where the chain has " + generation;
        return null;
    }
}
