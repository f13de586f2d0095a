package dev.fdkit;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A seccomp BPF filter, as container runtimes install one, that makes chosen system calls fail with an errno
 * (SECCOMP_RET_ERRNO) and allows everything else. Installed with SECCOMP_FILTER_FLAG_TSYNC, so every thread
 * of the JVM gets it, and inherited by everything the JVM spawns. It cannot be removed: install it only in a
 * JVM of its own.
 * <p>
 * The program checks the architecture first, as real filters do (a syscall number means something else on
 * another ABI), and refuses x32 system calls on x86_64.
 */
final class Seccomp {
    private Seccomp() {}

    /** A system call to refuse: always, or only when its first argument is {@code firstArgument}. */
    record Rule(String syscall, long firstArgument) {
        static final long ANY = Long.MIN_VALUE;

        static Rule always(String syscall) {
            return new Rule(syscall, ANY);
        }

        static Rule whenFirstArgumentIs(String syscall, int value) {
            return new Rule(syscall, value);
        }

        @Override
        public String toString() {
            return firstArgument == ANY ? syscall : syscall + "(" + firstArgument + ", ...)";
        }
    }

    // <linux/filter.h>, <linux/seccomp.h>, <linux/audit.h>, <linux/prctl.h>: kernel ABI, not in fdkit's bindings.
    private static final short LD_W_ABS = 0x20;  // BPF_LD | BPF_W | BPF_ABS
    private static final short JEQ_K = 0x15;     // BPF_JMP | BPF_JEQ | BPF_K
    private static final short JGE_K = 0x35;     // BPF_JMP | BPF_JGE | BPF_K
    private static final short RET_K = 0x06;     // BPF_RET | BPF_K
    private static final int RET_ALLOW = 0x7fff0000;
    private static final int RET_ERRNO = 0x00050000;
    private static final int RET_KILL_PROCESS = 0x80000000;
    private static final int DATA_NR = 0;        // struct seccomp_data { int nr; __u32 arch; __u64 ip; __u64 args[6]; }
    private static final int DATA_ARCH = 4;
    private static final int DATA_ARG0_LOW = 16; // little-endian: the low 32 bits of args[0]
    private static final int X32_SYSCALL_BIT = 0x40000000;
    private static final int PR_SET_NO_NEW_PRIVS = 38;
    private static final int SECCOMP_SET_MODE_FILTER = 1;
    private static final int SECCOMP_FILTER_FLAG_TSYNC = 1;

    private static int auditArch() {
        return switch (System.getProperty("os.arch")) {
            case "amd64" -> 0xc000003e;   // AUDIT_ARCH_X86_64 = EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
            case "aarch64" -> 0xc00000b7; // AUDIT_ARCH_AARCH64
            default -> throw new IllegalStateException("no AUDIT_ARCH for " + System.getProperty("os.arch"));
        };
    }

    /** One BPF instruction: struct sock_filter { __u16 code; __u8 jt; __u8 jf; __u32 k; }. */
    private record Insn(short code, int jt, int jf, int k) {}

    /** The program: each rule's syscall (and first argument) answers {@code errno}; everything else is allowed. */
    static List<Insn> program(int errno, List<Rule> rules) {
        int deny = RET_ERRNO | (errno & 0xffff);
        List<Insn> p = new ArrayList<>();
        p.add(new Insn(LD_W_ABS, 0, 0, DATA_ARCH));
        p.add(new Insn(JEQ_K, 1, 0, auditArch()));
        p.add(new Insn(RET_K, 0, 0, RET_KILL_PROCESS));
        p.add(new Insn(LD_W_ABS, 0, 0, DATA_NR));
        if (System.getProperty("os.arch").equals("amd64")) {
            p.add(new Insn(JGE_K, 0, 1, X32_SYSCALL_BIT));
            p.add(new Insn(RET_K, 0, 0, deny));
        }
        for (Rule rule : rules) {
            int nr = RawLinux.syscallNumber(rule.syscall());
            if (rule.firstArgument() == Rule.ANY) {
                p.add(new Insn(JEQ_K, 0, 1, nr));
                p.add(new Insn(RET_K, 0, 0, deny));
            } else {
                p.add(new Insn(JEQ_K, 0, 4, nr));                      // another syscall: next rule
                p.add(new Insn(LD_W_ABS, 0, 0, DATA_ARG0_LOW));
                p.add(new Insn(JEQ_K, 0, 1, (int) rule.firstArgument())); // another argument: reload nr, next rule
                p.add(new Insn(RET_K, 0, 0, deny));
                p.add(new Insn(LD_W_ABS, 0, 0, DATA_NR));
            }
        }
        p.add(new Insn(RET_K, 0, 0, RET_ALLOW));
        return p;
    }

    /**
     * prctl(PR_SET_NO_NEW_PRIVS, 1) (required unless CAP_SYS_ADMIN, set anyway as runtimes do) and
     * seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog): from now on, in every thread of this
     * process and every process it starts, each rule's syscall fails with {@code errno}.
     */
    static void install(int errno, List<Rule> rules) {
        int r = RawLinux.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
        if (r != 0) throw new IllegalStateException("prctl(PR_SET_NO_NEW_PRIVS) failed: errno " + -r);
        List<Insn> program = program(errno, rules);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment filter = arena.allocate(8L * program.size(), 8);
            for (int i = 0; i < program.size(); i++) {
                Insn insn = program.get(i);
                MemorySegment slot = filter.asSlice(8L * i, 8);
                slot.set(JAVA_SHORT, 0, insn.code());
                slot.set(JAVA_BYTE, 2, (byte) insn.jt());
                slot.set(JAVA_BYTE, 3, (byte) insn.jf());
                slot.set(JAVA_INT, 4, insn.k());
            }
            MemorySegment prog = arena.allocate(16, 8); // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
            prog.set(JAVA_SHORT, 0, (short) program.size());
            prog.set(ADDRESS, 8, filter);
            // With TSYNC, a positive result is the id of a thread that could not be synchronised.
            long result = RawLinux.syscall("seccomp", SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, prog.address());
            if (result != 0) throw new IllegalStateException("seccomp(SET_MODE_FILTER, TSYNC) of " + rules + " failed: " + result);
        }
    }
}
