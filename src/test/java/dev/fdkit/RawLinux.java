package dev.fdkit;

import dev.fdkit.internal.linux.fdkit_h;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Raw system calls the fault-injection tests make to set up hostile conditions — seccomp, resource limits,
 * a thread's uid, ignored and blocked signals — which fdkit itself never makes. Test code only: main code
 * goes through the syscall layer.
 */
final class RawLinux {
    private RawLinux() {}

    // Kernel ABI values fdkit's bindings do not carry (fdkit needs none of them). RLIMIT_* and the signal
    // numbers are the generic ones (asm-generic/resource.h, signal.h), the same on x86_64 and aarch64.
    static final int RLIMIT_NPROC = 6;
    static final int RLIMIT_NOFILE = 7;
    static final int SIGHUP = fdkit_h.SIGHUP();
    static final int SIGPIPE = fdkit_h.SIGPIPE();
    static final int SIGUSR1 = fdkit_h.SIGUSR1();
    static final int SIGTERM = fdkit_h.SIGTERM();
    static final int EMFILE = 24; // asm-generic/errno-base.h
    static final int NOBODY = 65534;

    /**
     * Syscall numbers missing from the generated bindings (asm/unistd_64.h and asm-generic/unistd.h). The
     * seccomp tests check each one by its effect: a filter on a wrong number would block nothing.
     */
    private static final Map<String, Map<String, Integer>> MISSING_NUMBERS = Map.of(
            "amd64", Map.of("clone3", 435, "close_range", 436, "eventfd2", 290, "epoll_create1", 291,
                    "seccomp", 317, "setresuid", 117),
            "aarch64", Map.of("clone3", 435, "close_range", 436, "eventfd2", 19, "epoll_create1", 20,
                    "seccomp", 277, "setresuid", 147));

    /** The number of system call {@code name}: from the generated bindings where they have it. */
    static int syscallNumber(String name) {
        return switch (name) {
            case "pidfd_open" -> fdkit_h.SYS_pidfd_open();
            case "pidfd_send_signal" -> fdkit_h.SYS_pidfd_send_signal();
            case "pidfd_getfd" -> fdkit_h.SYS_pidfd_getfd();
            case "waitid" -> fdkit_h.SYS_waitid();
            case "io_uring_setup" -> fdkit_h.SYS_io_uring_setup();
            case "io_uring_enter" -> fdkit_h.SYS_io_uring_enter();
            case "io_uring_register" -> fdkit_h.SYS_io_uring_register();
            case "futex_waitv" -> fdkit_h.SYS_futex_waitv();
            default -> {
                Integer n = MISSING_NUMBERS.getOrDefault(System.getProperty("os.arch"), Map.of()).get(name);
                if (n == null) throw new IllegalArgumentException("no syscall number for " + name + " on " + System.getProperty("os.arch"));
                yield n;
            }
        };
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(symbol("syscall"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    private static final MethodHandle PRCTL = LINKER.downcallHandle(symbol("prctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));
    private static final MethodHandle SETRLIMIT = LINKER.downcallHandle(symbol("setrlimit"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), Linker.Option.captureCallState("errno"));
    private static final MethodHandle GETRLIMIT = LINKER.downcallHandle(symbol("getrlimit"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS), Linker.Option.captureCallState("errno"));
    private static final MethodHandle OPEN = LINKER.downcallHandle(symbol("open"), FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle CLOSE = LINKER.downcallHandle(symbol("close"), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SIGNAL = LINKER.downcallHandle(symbol("signal"), FunctionDescriptor.of(ADDRESS, JAVA_INT, ADDRESS));
    private static final MethodHandle PTHREAD_SIGMASK = LINKER.downcallHandle(symbol("pthread_sigmask"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    private static MemorySegment symbol(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    }

    /** syscall(2) with up to four arguments: the result, or {@code -errno}. */
    static long syscall(String name, long... arguments) {
        long[] a = Arrays.copyOf(arguments, 4);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            long r = (long) SYSCALL.invokeExact(state, (long) syscallNumber(name), a[0], a[1], a[2], a[3]);
            return r >= 0 ? r : -(int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** prctl(2) with four arguments: the result, or {@code -errno}. */
    static int prctl(int option, long a2, long a3, long a4, long a5) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int r = (int) PRCTL.invokeExact(state, option, a2, a3, a4, a5);
            return r >= 0 ? r : -(int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** setrlimit(2) of this whole process. */
    static void setrlimit(int resource, long soft, long hard) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment limit = arena.allocate(JAVA_LONG, 2); // struct rlimit { rlim_t rlim_cur, rlim_max; }
            limit.setAtIndex(JAVA_LONG, 0, soft);
            limit.setAtIndex(JAVA_LONG, 1, hard);
            if ((int) SETRLIMIT.invokeExact(state, resource, limit) != 0) {
                throw new IllegalStateException("setrlimit(" + resource + ", " + soft + ") failed: errno " + ERRNO.get(state, 0L));
            }
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** open("/dev/null", O_RDONLY | O_CLOEXEC): the descriptor, or {@code -errno}. */
    static int openDevNull() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom("/dev/null"), fdkit_h.O_RDONLY() | fdkit_h.O_CLOEXEC());
            return fd >= 0 ? fd : -(int) ERRNO.get(state, 0L);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** close(2) of a descriptor this test opened. */
    static void close(int fd) {
        try {
            if ((int) CLOSE.invokeExact(fd) != 0) throw new IllegalStateException("close(" + fd + ") failed");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** getrlimit(2): this process's soft and hard limit of {@code resource} (RLIM_INFINITY is -1). */
    static long[] getrlimit(int resource) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment limit = arena.allocate(JAVA_LONG, 2);
            if ((int) GETRLIMIT.invokeExact(state, resource, limit) != 0) {
                throw new IllegalStateException("getrlimit(" + resource + ") failed: errno " + ERRNO.get(state, 0L));
            }
            return new long[] {limit.getAtIndex(JAVA_LONG, 0), limit.getAtIndex(JAVA_LONG, 1)};
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * setresuid(2) as a raw syscall: unlike glibc's setresuid, which changes every thread, it changes the
     * calling thread's credentials alone (the kernel keeps them per thread). A saved uid of 0 lets the thread
     * come back to root later.
     */
    static void setThreadUids(int real, int effective, int saved) {
        long r = syscall("setresuid", real, effective, saved);
        if (r != 0) throw new IllegalStateException("setresuid(" + real + ", " + effective + ", " + saved + ") failed: errno " + -r);
    }

    /** signal(sig, SIG_IGN) for this process. */
    static void ignore(int signal) {
        try {
            MemorySegment previous = (MemorySegment) SIGNAL.invokeExact(signal, MemorySegment.ofAddress(1)); // SIG_IGN is (void (*)(int)) 1
            if (previous.address() == -1L) throw new IllegalStateException("signal(" + signal + ", SIG_IGN) failed");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Adds {@code signals} to the calling thread's signal mask (pthread_sigmask SIG_BLOCK). */
    static void blockInThisThread(int... signals) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(dev.fdkit.internal.linux.sigset_t.layout());
            for (int s : signals) {
                int bit = s - 1; // sigset_t is a bit array of unsigned longs, signal n at bit n-1
                long word = set.getAtIndex(JAVA_LONG, bit / 64);
                set.setAtIndex(JAVA_LONG, bit / 64, word | (1L << (bit % 64)));
            }
            int r = (int) PTHREAD_SIGMASK.invokeExact(0 /* SIG_BLOCK */, set, MemorySegment.NULL);
            if (r != 0) throw new IllegalStateException("pthread_sigmask failed: " + r);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** A {@code /proc/<path>/status} field ({@code SigBlk}, {@code Uid}...) as printed, tabs and all. */
    static String statusField(String procPath, String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", procPath, "status"))) {
                if (line.startsWith(field + ":")) return line.substring(field.length() + 1).trim();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        throw new IllegalStateException("no " + field + " in /proc/" + procPath + "/status");
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) return r;
        if (t instanceof Error e) throw e;
        return new IllegalStateException(t);
    }
}
