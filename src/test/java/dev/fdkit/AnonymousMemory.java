package dev.fdkit;

import dev.fdkit.internal.linux.fdkit_h;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Anonymous mmap(2) for the futex tests: Arena.allocate gives malloc'd, zero-filled (hence already touched)
 * private memory; the kernel selftests also need MAP_SHARED|MAP_ANONYMOUS memory (shmem: the futex key is
 * the inode and page offset, not the mm) and a fresh private page no one has touched yet.
 */
final class AnonymousMemory {
    private AnonymousMemory() {}

    // Not in the generated constants (the bindings only need MAP_SHARED); these values are the generic
    // Linux UAPI ones (asm-generic/mman-common.h), used by x86_64 and aarch64 alike.
    private static final int MAP_PRIVATE = 0x02;
    private static final int MAP_ANONYMOUS = 0x20;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle MMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("mmap").orElseThrow(),
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = LINKER.downcallHandle(LINKER.defaultLookup().find("munmap").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));

    /** {@code size} bytes of MAP_SHARED|MAP_ANONYMOUS memory, unmapped when {@code arena} closes. */
    static MemorySegment shared(Arena arena, long size) {
        return map(arena, size, fdkit_h.MAP_SHARED());
    }

    /** {@code size} bytes of MAP_PRIVATE|MAP_ANONYMOUS memory, untouched (no page faulted in yet). */
    static MemorySegment freshPrivate(Arena arena, long size) {
        return map(arena, size, MAP_PRIVATE);
    }

    private static MemorySegment map(Arena arena, long size, int sharing) {
        try {
            MemorySegment address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size,
                    fdkit_h.PROT_READ() | fdkit_h.PROT_WRITE(), sharing | MAP_ANONYMOUS, -1, 0L);
            if (address.address() == -1L) throw new IllegalStateException("mmap of " + size + " anonymous bytes failed");
            return address.reinterpret(size, arena, mapping -> {
                try {
                    int r = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(mapping.address()), size);
                    if (r != 0) throw new IllegalStateException("munmap failed");
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
            });
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
