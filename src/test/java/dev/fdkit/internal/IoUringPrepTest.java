package dev.fdkit.internal;

import dev.fdkit.internal.linux.io_uring_sqe;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each {@link IoUringPrep} method against the SQE bytes liburing's function of the same name produces: a C
 * program, compiled by gcc against the kernel's {@code <linux/io_uring.h>} and headers/fdkit_compat.h, sets
 * the fields liburing's {@code io_uring_prep_*} (src/include/liburing.h) sets on a zeroed SQE and prints its
 * bytes; Java does the same through IoUringPrep. liburing is not needed: the C side restates, field by
 * field, what its prep functions assign. Arguments are distinct non-zero values, so a value written to the
 * wrong field or not at all shows. Without gcc the test is skipped.
 */
@Timeout(120)
class IoUringPrepTest {
    private static final long DATA = 0x0102_0304_0506_0700L; // + the case's index: user_data differs per case

    /** One call, in C and in Java, with the same arguments. */
    private record Case(String method, String c, Consumer<MemorySegment> java) {}

    private static final List<Case> CASES = List.of(
            new Case("prepNop", "prep_nop(s)", IoUringPrep::prepNop),
            new Case("prepPollAdd", "prep_poll_add(s, 7, 0x2019)", s -> IoUringPrep.prepPollAdd(s, 7, 0x2019)),
            new Case("prepPollMultishot", "prep_poll_multishot(s, 8, 0x0005)", s -> IoUringPrep.prepPollMultishot(s, 8, 0x0005)),
            new Case("prepRead", "prep_read(s, 9, 0x7f0011223340ULL, 4096, (uint64_t) -1)",
                    s -> IoUringPrep.prepRead(s, 9, MemorySegment.ofAddress(0x7f00_1122_3340L), 4096, -1L)),
            new Case("prepTimeout", "prep_timeout(s, 0x7f00aabbcc00ULL, 3, 0x11)",
                    s -> IoUringPrep.prepTimeout(s, MemorySegment.ofAddress(0x7f00_aabb_cc00L), 3, 0x11)),
            new Case("prepCancel64", "prep_cancel64(s, 0x8877665544332211ULL, 0x14)", s -> IoUringPrep.prepCancel64(s, 0x8877_6655_4433_2211L, 0x14)),
            new Case("prepWaitid", "prep_waitid(s, 3, 10, 0x7f0000001000ULL, 0x01000004, 5)",
                    s -> IoUringPrep.prepWaitid(s, 3, 10, MemorySegment.ofAddress(0x7f00_0000_1000L), 0x0100_0004, 5)),
            new Case("prepFutexWait", "prep_futex_wait(s, 0x7f0000002000ULL, 0xfffffffeULL, 0xffffffffULL, 0x82, 6)",
                    s -> IoUringPrep.prepFutexWait(s, MemorySegment.ofAddress(0x7f00_0000_2000L), 0xffff_fffeL, 0xffff_ffffL, 0x82, 6)),
            new Case("prepFutexWake", "prep_futex_wake(s, 0x7f0000002040ULL, 3, 0x0000ff00ULL, 0x02, 9)",
                    s -> IoUringPrep.prepFutexWake(s, MemorySegment.ofAddress(0x7f00_0000_2040L), 3, 0x0000_ff00L, 0x02, 9)),
            new Case("prepFutexWaitv", "prep_futex_waitv(s, 0x7f0000003000ULL, 4, 7)",
                    s -> IoUringPrep.prepFutexWaitv(s, MemorySegment.ofAddress(0x7f00_0000_3000L), 4, 7)));

    /** The liburing prep functions fdkit mirrors, restated on the 6.1 UAPI struct (see IoUringPrep's class comment). */
    private static final String LIBURING_PREPS = """
            #include <linux/io_uring.h>
            #include "fdkit_compat.h"
            #include <stdint.h>
            #include <stdio.h>
            #include <string.h>

            typedef struct io_uring_sqe sqe_t;

            /* io_uring_prep_rw: opcode, fd, off, addr, len. */
            static void prep_rw(int op, sqe_t *s, int fd, uint64_t addr, unsigned len, uint64_t off) {
                s->opcode = (__u8) op;
                s->fd = fd;
                s->off = off;
                s->addr = addr;
                s->len = len;
            }

            static void prep_nop(sqe_t *s) { prep_rw(IORING_OP_NOP, s, -1, 0, 0, 0); }

            static void prep_poll_add(sqe_t *s, int fd, unsigned mask) {
                prep_rw(IORING_OP_POLL_ADD, s, fd, 0, 0, 0);
            #if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                mask = (mask << 16) | (mask >> 16);
            #endif
                s->poll32_events = mask;
            }

            static void prep_poll_multishot(sqe_t *s, int fd, unsigned mask) {
                prep_poll_add(s, fd, mask);
                s->len = IORING_POLL_ADD_MULTI;
            }

            static void prep_read(sqe_t *s, int fd, uint64_t buf, unsigned nbytes, uint64_t offset) {
                prep_rw(IORING_OP_READ, s, fd, buf, nbytes, offset);
            }

            static void prep_timeout(sqe_t *s, uint64_t ts, unsigned count, unsigned flags) {
                prep_rw(IORING_OP_TIMEOUT, s, -1, ts, 1, count);
                s->timeout_flags = flags;
            }

            static void prep_cancel64(sqe_t *s, uint64_t user_data, int flags) {
                prep_rw(IORING_OP_ASYNC_CANCEL, s, -1, 0, 0, 0);
                s->addr = user_data;
                s->cancel_flags = (__u32) flags;
            }

            static void prep_waitid(sqe_t *s, int idtype, int id, uint64_t infop, int options, unsigned flags) {
                prep_rw(FDKIT_IORING_OP_WAITID, s, id, 0, (unsigned) idtype, 0);
                s->rw_flags = flags; /* waitid_flags in 6.7+ headers */
                s->file_index = options;
                s->addr2 = infop;
            }

            static void prep_futex(int op, sqe_t *s, uint64_t futex, uint64_t val, uint64_t mask, uint32_t futex_flags, unsigned flags) {
                prep_rw(op, s, futex_flags, futex, 0, val);
                s->rw_flags = flags; /* futex_flags in 6.7+ headers */
                s->addr3 = mask;
            }

            static void prep_futex_wait(sqe_t *s, uint64_t futex, uint64_t val, uint64_t mask, uint32_t futex_flags, unsigned flags) {
                prep_futex(FDKIT_IORING_OP_FUTEX_WAIT, s, futex, val, mask, futex_flags, flags);
            }

            static void prep_futex_wake(sqe_t *s, uint64_t futex, uint64_t val, uint64_t mask, uint32_t futex_flags, unsigned flags) {
                prep_futex(FDKIT_IORING_OP_FUTEX_WAKE, s, futex, val, mask, futex_flags, flags);
            }

            static void prep_futex_waitv(sqe_t *s, uint64_t futexv, uint32_t nr, unsigned flags) {
                prep_rw(FDKIT_IORING_OP_FUTEX_WAITV, s, 0, futexv, nr, 0);
                s->rw_flags = flags; /* futex_flags in 6.7+ headers */
            }

            static void dump(const char *name, const sqe_t *s) {
                const unsigned char *bytes = (const unsigned char *) s;
                printf("%s ", name);
                for (size_t i = 0; i < sizeof *s; i++) printf("%02x", bytes[i]);
                printf("\\n");
            }
            """;

    @TempDir
    static Path work;

    private static Map<String, String> liburing;

    @BeforeAll
    static void compileAndRunTheCSide() throws IOException, InterruptedException {
        assumeTrue(CProgram.gcc() != null, "gcc is not on the PATH: the SQE encoding test (C vs. IoUringPrep) is skipped");
        StringBuilder c = new StringBuilder(LIBURING_PREPS).append("\nint main(void) {\n    sqe_t sqe, *s = &sqe;\n");
        for (int i = 0; i < CASES.size(); i++) {
            Case k = CASES.get(i);
            c.append("    memset(s, 0, sizeof *s);\n    ").append(k.c()).append(";\n")
                    .append("    s->user_data = 0x").append(Long.toHexString(DATA + i)).append("ULL; /* io_uring_sqe_set_data64 */\n")
                    .append("    dump(\"").append(k.method()).append("\", s);\n");
        }
        c.append("    return 0;\n}\n");
        CProgram.compile(work, "liburing_preps", c.toString());
        liburing = new HashMap<>();
        for (String line : CProgram.run(work, List.of(work.resolve("liburing_preps").toString()), "liburing_preps").split("\n")) {
            if (line.isBlank()) continue;
            String[] parts = line.split(" ");
            liburing.put(parts[0], parts[1]);
        }
    }

    @TestFactory
    Stream<DynamicTest> eachPrepMethodWritesTheBytesLiburingWrites() {
        return CASES.stream().map(k -> DynamicTest.dynamicTest(k.method(), () -> {
            String java;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment sqe = arena.allocate(io_uring_sqe.layout()); // zeroed, as IoUringRing.nextSqe() returns it
                k.java().accept(sqe);
                IoUringPrep.setData64(sqe, DATA + CASES.indexOf(k));
                java = HexFormat.of().formatHex(sqe.toArray(JAVA_BYTE));
            }
            assertThat(java).as("%s vs. liburing's %s, SQE bytes in hex", k.method(), k.c()).isEqualTo(liburing.get(k.method()));
        }));
    }

    @Test
    void everyPrepMethodHasACase() {
        String[] methods = Arrays.stream(IoUringPrep.class.getDeclaredMethods())
                .filter(m -> Modifier.isPublic(m.getModifiers()) && m.getName().startsWith("prep"))
                .map(Method::getName).toArray(String[]::new);
        assertThat(CASES.stream().map(Case::method)).containsExactlyInAnyOrder(methods);
    }
}
