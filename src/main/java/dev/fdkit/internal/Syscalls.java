package dev.fdkit.internal;

import dev.fdkit.internal.linux.epoll_event;
import dev.fdkit.internal.linux.fdkit_h;
import dev.fdkit.internal.linux.futex_waitv;
import dev.fdkit.internal.linux.pidfd_info;
import dev.fdkit.internal.linux.rusage;
import dev.fdkit.internal.linux.siginfo_t;
import dev.fdkit.internal.linux.timespec;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The syscall layer: one static method per system call, the only code that calls into native code.
 *
 * <h2>Errors: one contract, told by the name</h2>
 * errno is captured by the downcall itself ({@code Linker.Option.captureCallState("errno")}) into a
 * per-thread segment, so nothing is allocated per call. A method whose name ends in {@code Raw} returns the
 * kernel's convention, the result or {@code -errno}, and throws nothing (its callers decide which errno is
 * normal: the probe, futex waits, io_uring). Every other method throws {@link SyscallException} for errors,
 * except the errno values its documentation names as ordinary outcomes (EAGAIN on a non-blocking fd, ESRCH
 * for a process that is gone...), which it reports through its return value.
 *
 * <h2>EINTR policy</h2>
 * Applied here and nowhere else; no caller ever sees EINTR. Non-blocking calls never meet it. A blocking call
 * with no timeout, or an absolute deadline, is resumed (read, write, flock, waitid, futex_waitv...). A
 * blocking call with a relative timeout reports "nothing happened" (epoll_wait and poll: 0 events; futex: a
 * spurious wake-up; io_uring_enter: 0 submitted); the caller loops and recomputes its deadline. {@code close}
 * is never retried: Linux releases the descriptor even when it reports EINTR, and a retry could close a
 * number another thread has just been given.
 *
 * <h2>critical</h2>
 * Calls that never block are linked {@code Linker.Option.critical(false)} when the running JDK allows it
 * together with errno capture (JDK 24+); on JDK 22/23 the link fails with IllegalArgumentException and
 * they are linked as ordinary downcalls ({@link #criticalWithErrno()} tells which).
 *
 * <h2>syscall(2)</h2>
 * pidfd_*, waitid (for its fifth, rusage argument), futex and io_uring go through the variadic
 * {@code syscall(2)} with SYS_* numbers from the generated bindings, so glibc older than 2.36 works.
 * Every variadic argument is passed as a 64-bit value: glibc reads each one with va_arg(long).
 * <p>
 * Why it is long: its one job is the table of downcalls and the errno/EINTR contract above, which hold only
 * if every native call goes through this one class; split, the contract would live in several places.
 */
public final class Syscalls {
    private Syscalls() {}

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));


    // Downcall handles, linked on first use of their group: linking costs milliseconds per handle, and a
    // program that only spawns processes should not pay for io_uring's.
    private static final class EventfdCalls {
        static final MethodHandle EVENTFD = link("eventfd", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), true);
        static final MethodHandle WRITE_NONBLOCKING = link("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), true);
        // The fast path: critical and without errno capture (bench/REPORT.md measures it). The caller holds a use
        // of an fdkit-owned non-blocking eventfd and passes an 8-byte buffer, so a failed read can only be EAGAIN
        // (EBADF, EFAULT, EINVAL are excluded by construction; non-blocking reads never see EINTR). A failed write
        // re-issues through WRITE_NONBLOCKING, which captures errno, to tell EAGAIN (overflow) from EINVAL exactly.
        static final MethodHandle READ_FAST = linkWithoutErrno("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
        static final MethodHandle WRITE_FAST = linkWithoutErrno("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    }

    private static final class FileCalls {
        static final MethodHandle READ = link("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), false);
        static final MethodHandle WRITE = link("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), false);
        static final MethodHandle CLOSE = link("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), false);
        static final MethodHandle PIPE2 = link("pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), true);
        static final MethodHandle OPEN = LINKER.downcallHandle(symbol("open"),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2), CAPTURE_ERRNO);
        static final MethodHandle FCNTL = LINKER.downcallHandle(symbol("fcntl"),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2), CAPTURE_ERRNO);
        static final MethodHandle POLL = link("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), false);
        static final MethodHandle IOCTL = LINKER.downcallHandle(symbol("ioctl"),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2), CAPTURE_ERRNO);
        static final MethodHandle FLOCK = link("flock", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), false); // blocks without LOCK_NB
        static final MethodHandle FTRUNCATE = link("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), false);
        static final MethodHandle LSEEK = link("lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT), true);
        static final MethodHandle PREAD = link("pread", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), false);
    }

    private static final class EpollCalls {
        static final MethodHandle EPOLL_CREATE1 = link("epoll_create1", FunctionDescriptor.of(JAVA_INT, JAVA_INT), true);
        static final MethodHandle EPOLL_CTL = link("epoll_ctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), true);
        static final MethodHandle EPOLL_WAIT = link("epoll_wait", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), false);
    }

    private static final class ProcessCalls {
        static final MethodHandle KILL = link("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), true);
        static final MethodHandle GETPGID = link("getpgid", FunctionDescriptor.of(JAVA_INT, JAVA_INT), true);
        static final MethodHandle SYSCALL2 = linkSyscall(2);
        static final MethodHandle SYSCALL4 = linkSyscall(4);
        static final MethodHandle SYSCALL5 = linkSyscall(5);
    }

    private static final class FutexCalls {
        /** syscall(SYS_futex, uaddr, op, val, timeout, uaddr2, val3): pointers as segments, so the memory stays alive during the call. */
        static final MethodHandle FUTEX = LINKER.downcallHandle(symbol("syscall"),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), CAPTURE_ERRNO);
        static final MethodHandle FUTEX_WAITV = LINKER.downcallHandle(symbol("syscall"),
                FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG),
                Linker.Option.firstVariadicArg(1), CAPTURE_ERRNO);
    }

    private static final class UringCalls {
        static final MethodHandle SYSCALL6 = linkSyscall(6);
        // io_uring_enter without GETEVENTS only submits: it never waits, so it may skip the thread-state transition
        static final MethodHandle ENTER_SUBMIT_ONLY = linkSyscall(6, true);
        static final MethodHandle MMAP = link("mmap", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), false);
        static final MethodHandle MUNMAP = link("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), false);
    }

    /** Per-thread memory the calls write into: errno capture, one 64-bit word, one epoll_event, siginfo, rusage, timespec. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Scratch's one block, each member at its own layout's size and alignment. */
    private static final StructLayout SCRATCH_LAYOUT = alignedStruct(
            CALL_STATE.withName("callState"),
            JAVA_LONG.withName("word"),
            epoll_event.layout().withName("epollEvent"),
            siginfo_t.layout().withName("siginfo"),
            rusage.layout().withName("rusage"),
            timespec.layout().withName("timespec"));

    private static final class Scratch {
        final MemorySegment callState;
        final MemorySegment word;
        final MemorySegment epollEvent;
        final MemorySegment siginfo;
        final MemorySegment rusage;
        final MemorySegment timespec;
        MemorySegment waitv; // futex_waitv entries, allocated on first use

        Scratch() {
            MemorySegment all = Arena.ofAuto().allocate(SCRATCH_LAYOUT);
            callState = member(all, "callState");
            word = member(all, "word");
            epollEvent = member(all, "epollEvent");
            siginfo = member(all, "siginfo");
            rusage = member(all, "rusage");
            timespec = member(all, "timespec");
        }

        private static MemorySegment member(MemorySegment all, String name) {
            MemoryLayout.PathElement path = MemoryLayout.PathElement.groupElement(name);
            return all.asSlice(SCRATCH_LAYOUT.byteOffset(path), SCRATCH_LAYOUT.select(path).byteSize());
        }
    }

    /** A struct of {@code members} in this order, each padded to its alignment, as a C compiler lays one out. */
    private static StructLayout alignedStruct(MemoryLayout... members) {
        List<MemoryLayout> laidOut = new ArrayList<>();
        long size = 0;
        long alignment = 1;
        for (MemoryLayout member : members) {
            long padding = -size & (member.byteAlignment() - 1);
            if (padding > 0) laidOut.add(MemoryLayout.paddingLayout(padding));
            laidOut.add(member);
            size += padding + member.byteSize();
            alignment = Math.max(alignment, member.byteAlignment());
        }
        if ((size & (alignment - 1)) != 0) laidOut.add(MemoryLayout.paddingLayout(-size & (alignment - 1)));
        return MemoryLayout.structLayout(laidOut.toArray(MemoryLayout[]::new));
    }

    /** True when non-blocking calls are linked {@code critical} together with errno capture (JDK 24+). */
    public static boolean criticalWithErrno() {
        return CriticalProbe.AVAILABLE;
    }

    // ---------------------------------------------------------------- eventfd

    /** eventfd(2): returns the new descriptor. */
    public static int eventfd(int initialValue, int flags) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        int fd = invokeInt(EventfdCalls.EVENTFD, state, initialValue, flags);
        if (fd < 0) throw error(state, "eventfd", "initval=" + initialValue + ", flags=0x" + Integer.toHexString(flags));
        return fd;
    }

    /**
     * eventfd_read on a non-blocking eventfd: the counter value (unsigned), or 0 when the counter was zero
     * (EAGAIN). An eventfd never yields 0 from a successful read, so 0 is unambiguous.
     */
    public static long eventfdRead(int fd) throws SyscallException {
        Scratch scratch = SCRATCH.get();
        try {
            if ((long) EventfdCalls.READ_FAST.invokeExact(fd, scratch.word, 8L) == 8) return scratch.word.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        return 0; // EAGAIN: the counter was zero
    }

    /** eventfd_write on a non-blocking eventfd: false when the counter would overflow (EAGAIN). */
    public static boolean eventfdWrite(int fd, long value) throws SyscallException {
        Scratch scratch = SCRATCH.get();
        scratch.word.set(JAVA_LONG, 0, value);
        try {
            if ((long) EventfdCalls.WRITE_FAST.invokeExact(fd, scratch.word, 8L) == 8) return true;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        long n = invokeLong(EventfdCalls.WRITE_NONBLOCKING, scratch.callState, fd, scratch.word, 8L);
        if (n == 8) return true;
        if (errno(scratch.callState) == Errno.EAGAIN) return false;
        throw error(scratch.callState, "eventfd_write", "fd=" + fd + ", value=" + Long.toUnsignedString(value));
    }

    // ---------------------------------------------------------------- read / write / close / pipe2

    /** read(2), may block: bytes read, 0 at end of file, -1 for EAGAIN on a non-blocking descriptor. */
    public static long read(int fd, MemorySegment buffer, long length) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        for (;;) {
            long n = invokeLong(FileCalls.READ, state, fd, buffer, length);
            if (n >= 0) return n;
            int errno = errno(state);
            if (errno == Errno.EAGAIN) return -1;
            if (errno != Errno.EINTR) throw error(state, "read", "fd=" + fd + ", count=" + length);
        }
    }

    /** write(2), may block: bytes written, -1 for EAGAIN on a non-blocking descriptor. */
    public static long write(int fd, MemorySegment buffer, long length) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        for (;;) {
            long n = invokeLong(FileCalls.WRITE, state, fd, buffer, length);
            if (n >= 0) return n;
            int errno = errno(state);
            if (errno == Errno.EAGAIN) return -1;
            if (errno != Errno.EINTR) throw error(state, "write", "fd=" + fd + ", count=" + length);
        }
    }

    /** close(2). EINTR counts as closed (see the class comment); other errors are reported. */
    public static void close(int fd) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        if (invokeInt(FileCalls.CLOSE, state, fd) < 0 && errno(state) != Errno.EINTR) throw error(state, "close", "fd=" + fd);
    }

    /**
     * close(2) where a failure has nothing to report: cleanup after another error (which is what matters), or a
     * descriptor only opened to look at something. A negative {@code fd} (none) is skipped.
     */
    public static void closeQuietly(int fd) {
        if (fd < 0) return;
        try {
            close(fd);
        } catch (SyscallException ignored) {
            // see above: nothing to recover, nobody to tell
        }
    }

    /** pipe2(2): returns {@code (read end) | (write end) << 32}. */
    public static long pipe2(int flags) throws SyscallException {
        Scratch scratch = SCRATCH.get();
        if (invokeInt(FileCalls.PIPE2, scratch.callState, scratch.word, flags) < 0) throw error(scratch.callState, "pipe2", "flags=0x" + Integer.toHexString(flags));
        return Integer.toUnsignedLong(scratch.word.get(JAVA_INT, 0)) | ((long) scratch.word.get(JAVA_INT, 4) << 32);
    }

    /** open(2) with O_CLOEXEC always added: returns the descriptor. */
    public static int open(String path, int flags, int mode) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        try (Arena arena = Arena.ofConfined()) { // one path string per open: opens are not a hot path
            MemorySegment cPath = arena.allocateFrom(path);
            for (;;) {
                int fd = (int) FileCalls.OPEN.invokeExact(state, cPath, flags | fdkit_h.O_CLOEXEC(), mode);
                if (fd >= 0) return fd;
                if (errno(state) != Errno.EINTR) throw error(state, "open", "\"" + path + "\", flags=0x" + Integer.toHexString(flags));
            }
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    /** fcntl(2) with an int argument (F_GETFL, F_SETFL, F_GETFD...): returns the result. */
    public static int fcntl(int fd, int command, int argument) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        try {
            int r = (int) FileCalls.FCNTL.invokeExact(state, fd, command, argument);
            if (r < 0) throw error(state, "fcntl", "fd=" + fd + ", cmd=" + command + ", arg=0x" + Integer.toHexString(argument));
            return r;
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    /**
     * flock(2): true when the lock was taken or converted, false for EWOULDBLOCK (with LOCK_NB: another open
     * file description holds a conflicting lock). A wait interrupted by a signal (EINTR) is resumed.
     */
    public static boolean flock(int fd, int operation) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        for (;;) {
            if (invokeInt(FileCalls.FLOCK, state, fd, operation) == 0) return true;
            int errno = errno(state);
            if (errno == Errno.EAGAIN) return false; // EWOULDBLOCK is EAGAIN on Linux
            if (errno != Errno.EINTR) throw error(state, "flock", "fd=" + fd + ", operation=0x" + Integer.toHexString(operation));
        }
    }

    /** ftruncate(2). */
    public static void ftruncate(int fd, long length) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        for (;;) {
            int r;
            try {
                r = (int) FileCalls.FTRUNCATE.invokeExact(state, fd, length);
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r == 0) return;
            if (errno(state) != Errno.EINTR) throw error(state, "ftruncate", "fd=" + fd + ", length=" + length);
        }
    }

    /** lseek(2): the resulting offset; {@code lseek(fd, 0, SEEK_END)} is the size of a regular file. */
    public static long lseek(int fd, long offset, int whence) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        try {
            long r = (long) FileCalls.LSEEK.invokeExact(state, fd, offset, whence);
            if (r < 0) throw error(state, "lseek", "fd=" + fd + ", offset=" + offset + ", whence=" + whence);
            return r;
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    /** pread(2): bytes read, fewer than {@code length} only at the end of the file (0 at or past it). */
    public static long pread(int fd, MemorySegment buffer, long length, long offset) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        for (;;) {
            long n;
            try {
                n = (long) FileCalls.PREAD.invokeExact(state, fd, buffer, length, offset);
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (n >= 0) return n;
            if (errno(state) != Errno.EINTR) throw error(state, "pread", "fd=" + fd + ", count=" + length + ", offset=" + offset);
        }
    }

    /** poll(2) on one descriptor: the revents, or 0 on timeout or EINTR. */
    public static int poll(int fd, int events, int timeoutMillis) throws SyscallException {
        Scratch scratch = SCRATCH.get();
        MemorySegment pollfd = scratch.word; // struct pollfd is 8 bytes: {int fd; short events; short revents}
        dev.fdkit.internal.linux.pollfd.fd(pollfd, fd);
        dev.fdkit.internal.linux.pollfd.events(pollfd, (short) events);
        dev.fdkit.internal.linux.pollfd.revents(pollfd, (short) 0);
        try {
            int r = (int) FileCalls.POLL.invokeExact(scratch.callState, pollfd, 1L, timeoutMillis);
            if (r > 0) return Short.toUnsignedInt(dev.fdkit.internal.linux.pollfd.revents(pollfd));
            if (r == 0 || errno(scratch.callState) == Errno.EINTR) return 0;
            throw error(scratch.callState, "poll", "fd=" + fd + ", timeout=" + timeoutMillis);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    // ---------------------------------------------------------------- epoll

    /** epoll_create1(2): returns the new epoll descriptor. */
    public static int epollCreate1(int flags) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        int fd = invokeInt(EpollCalls.EPOLL_CREATE1, state, flags);
        if (fd < 0) throw error(state, "epoll_create1", "flags=0x" + Integer.toHexString(flags));
        return fd;
    }

    private static String epollOpName(int op) {
        if (op == Uapi.EPOLL_CTL_ADD) return "EPOLL_CTL_ADD";
        if (op == Uapi.EPOLL_CTL_MOD) return "EPOLL_CTL_MOD";
        if (op == Uapi.EPOLL_CTL_DEL) return "EPOLL_CTL_DEL";
        return Integer.toString(op);
    }

    /** epoll_ctl(2) with an epoll_event of {@code events} and {@code data.u64 = data}. */
    public static void epollCtl(int epfd, int op, int fd, int events, long data) throws SyscallException {
        Scratch scratch = SCRATCH.get();
        epoll_event.events(scratch.epollEvent, events);
        epoll_event.data(scratch.epollEvent).set(JAVA_LONG_UNALIGNED, 0, data);
        if (invokeInt(EpollCalls.EPOLL_CTL, scratch.callState, epfd, op, fd, scratch.epollEvent) < 0) {
            throw error(scratch.callState, "epoll_ctl", "epfd=" + epfd + ", op=" + epollOpName(op) + ", fd=" + fd + ", events=0x" + Integer.toHexString(events));
        }
    }

    /** epoll_wait(2): number of ready events written to {@code events}; 0 when interrupted (EINTR). */
    public static int epollWait(int epfd, MemorySegment events, int maxEvents, int timeoutMillis) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        int n = invokeInt(EpollCalls.EPOLL_WAIT, state, epfd, events, maxEvents, timeoutMillis);
        if (n >= 0) return n;
        if (errno(state) == Errno.EINTR) return 0;
        throw error(state, "epoll_wait", "epfd=" + epfd + ", maxevents=" + maxEvents + ", timeout=" + timeoutMillis);
    }

    private static final long EPOLL_EVENT_SIZE = epoll_event.layout().byteSize();
    private static final long EPOLL_EVENTS_OFFSET = epoll_event.layout().byteOffset(MemoryLayout.PathElement.groupElement("events"));
    private static final long EPOLL_DATA_OFFSET = epoll_event.layout().byteOffset(MemoryLayout.PathElement.groupElement("data"));

    /** Room for {@code count} struct epoll_event (packed to 12 bytes on x86_64, 16 on aarch64). */
    public static MemorySegment allocateEpollEvents(int count) {
        return Arena.ofAuto().allocate(EPOLL_EVENT_SIZE * count, 8);
    }

    /** events[index].events, as epoll_wait wrote it. */
    public static int epollEventMask(MemorySegment events, int index) {
        return events.get(ValueLayout.JAVA_INT_UNALIGNED, index * EPOLL_EVENT_SIZE + EPOLL_EVENTS_OFFSET);
    }

    /** events[index].data.u64, as epoll_wait wrote it. */
    public static long epollEventData(MemorySegment events, int index) {
        return events.get(JAVA_LONG_UNALIGNED, index * EPOLL_EVENT_SIZE + EPOLL_DATA_OFFSET);
    }

    // ---------------------------------------------------------------- processes

    /** pidfd_open(2) through syscall(2): returns the pidfd. */
    public static int pidfdOpen(int pid, int flags) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        long fd = invokeSyscall2(state, fdkit_h.SYS_pidfd_open(), pid, flags);
        if (fd < 0) throw error(state, "pidfd_open", "pid=" + pid + (flags == 0 ? "" : ", flags=0x" + Integer.toHexString(flags)));
        return (int) fd;
    }

    /** pidfd_send_signal(2) through syscall(2): false when the process has already exited (ESRCH). */
    public static boolean pidfdSendSignal(int pidfd, int signal, int flags) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        long r;
        try {
            r = (long) ProcessCalls.SYSCALL4.invokeExact(state, (long) fdkit_h.SYS_pidfd_send_signal(), (long) pidfd, (long) signal, 0L, (long) flags);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r == 0) return true;
        if (errno(state) == Errno.ESRCH) return false;
        throw error(state, "pidfd_send_signal", "pidfd=" + pidfd + ", sig=" + signal + (flags == 0 ? "" : ", flags=0x" + Integer.toHexString(flags)));
    }

    /**
     * pidfd_getfd(2) through syscall(2), Linux 5.6: a close-on-exec duplicate, in this process, of descriptor
     * {@code targetFd} of the process {@code pidfd} refers to. Needs ptrace access to it (EPERM otherwise).
     */
    public static int pidfdGetfd(int pidfd, int targetFd) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        long r;
        try {
            r = (long) ProcessCalls.SYSCALL4.invokeExact(state, (long) fdkit_h.SYS_pidfd_getfd(), (long) pidfd, (long) targetFd, 0L, 0L);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
        if (r < 0) throw error(state, "pidfd_getfd", "pidfd=" + pidfd + ", targetfd=" + targetFd);
        return (int) r;
    }

    /** kill(2): false when no such process exists (ESRCH). */
    public static boolean kill(int pid, int signal) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        if (invokeInt(ProcessCalls.KILL, state, pid, signal) == 0) return true;
        if (errno(state) == Errno.ESRCH) return false;
        throw error(state, "kill", "pid=" + pid + ", sig=" + signal);
    }

    /** getpgid(2): the process group of {@code pid}, or -1 when no such process exists (ESRCH). */
    public static int getpgid(int pid) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        int pgid = invokeInt(ProcessCalls.GETPGID, state, pid);
        if (pgid >= 0) return pgid;
        if (errno(state) == Errno.ESRCH) return -1;
        throw error(state, "getpgid", "pid=" + pid);
    }

    /** Result of {@link #waitid}: what siginfo and rusage said, copied out of the per-thread scratch. */
    public record WaitResult(int pid, int code, int status, long userMicros, long systemMicros, long maxRssKilobytes) {}

    /**
     * The raw waitid syscall with its fifth (rusage) argument. Returns the result, or null when
     * {@code WNOHANG} was given and no child was ready, or when the child is not ours or gone (ECHILD)
     * and {@code echildIsNull} is set.
     */
    public static WaitResult waitid(int idType, int id, int options, boolean echildIsNull) throws SyscallException {
        Scratch scratch = SCRATCH.get();
        scratch.siginfo.fill((byte) 0);
        long r;
        for (;;) {
            try {
                r = (long) ProcessCalls.SYSCALL5.invokeExact(scratch.callState, (long) fdkit_h.SYS_waitid(), (long) idType, (long) id,
                        scratch.siginfo.address(), (long) options, scratch.rusage.address());
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r == 0 || errno(scratch.callState) != Errno.EINTR) break;
        }
        if (r < 0) {
            if (echildIsNull && errno(scratch.callState) == Errno.ECHILD) return null;
            throw error(scratch.callState, "waitid", "idtype=" + idType + ", id=" + id + ", options=0x" + Integer.toHexString(options));
        }
        int pid = scratch.siginfo.get(JAVA_INT, SI_PID_OFFSET);
        if (pid == 0) return null; // WNOHANG and nothing ready
        return new WaitResult(pid, siginfo_t.si_code(scratch.siginfo), scratch.siginfo.get(JAVA_INT, SI_STATUS_OFFSET),
                micros(rusage.ru_utime(scratch.rusage)), micros(rusage.ru_stime(scratch.rusage)),
                rusage.ru_maxrss(scratch.rusage));
    }

    /** ioctl(2) with a pointer argument: the result, or {@code -errno} (callers decide which errno is normal). */
    public static int ioctlRaw(int fd, long request, MemorySegment argument) {
        MemorySegment state = SCRATCH.get().callState;
        try {
            int r = (int) FileCalls.IOCTL.invokeExact(state, fd, request, argument);
            return r >= 0 ? r : -errno(state);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    /** ioctl(FIONREAD): the bytes a read of the pipe or socket {@code fd} would return without blocking. */
    public static int bytesReadable(int fd) throws SyscallException {
        MemorySegment word = SCRATCH.get().word;
        int r = ioctlRaw(fd, fdkit_h.FIONREAD(), word);
        if (r < 0) throw new SyscallException("ioctl", "fd=" + fd + ", FIONREAD", -r);
        return word.get(JAVA_INT, 0);
    }

    /** sigabbrev_np(3) with the SIG prefix ({@code SIGKILL}), or {@code signal N} for an unknown number. */
    public static String signalName(int signal) {
        try {
            MemorySegment abbrev = fdkit_h.sigabbrev_np(signal);
            if (!abbrev.equals(MemorySegment.NULL)) return "SIG" + abbrev.reinterpret(32).getString(0);
        } catch (RuntimeException | LinkageError missingSymbol) {
            // glibc older than 2.32
        }
        return "signal " + signal;
    }

    /** gnu_get_libc_version(3), or "unknown" outside glibc. */
    public static String glibcVersion() {
        return LIBC.find("gnu_get_libc_version").map(address -> {
            try {
                MethodHandle handle = LINKER.downcallHandle(address, FunctionDescriptor.of(ADDRESS));
                return ((MemorySegment) handle.invokeExact()).reinterpret(64).getString(0);
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
        }).orElse("unknown");
    }

    /**
     * ioctl(PIDFD_GET_INFO) asking for PIDFD_INFO_EXIT (Linux 6.15): the wait(2)-style status of the exited
     * process, or null while the kernel has none (still running, or not yet reaped by its parent).
     */
    public static Integer pidfdExitStatus(int pidfd) throws SyscallException {
        try (Arena arena = Arena.ofConfined()) { // rare path: once per watched non-child exit
            MemorySegment info = arena.allocate(pidfd_info.layout());
            pidfd_info.mask(info, fdkit_h.PIDFD_INFO_EXIT());
            int r = ioctlRaw(pidfd, fdkit_h.PIDFD_GET_INFO(), info);
            if (r < 0) throw new SyscallException("ioctl", "pidfd=" + pidfd + ", PIDFD_GET_INFO", -r);
            return (pidfd_info.mask(info) & fdkit_h.PIDFD_INFO_EXIT()) != 0 ? pidfd_info.exit_code(info) : null;
        }
    }

    /** Whether libc exports {@code name} (pidfd_spawnp is glibc 2.39+). */
    public static boolean hasSymbol(String name) {
        return LIBC.find(name).isPresent();
    }

    // ---------------------------------------------------------------- futex / io_uring raw calls

    /** syscall(2) with up to five arguments and errno returned as {@code -errno}: for the feature probe and the futex/io_uring layers. */
    public static long syscallRaw(long number, long a1, long a2, long a3, long a4, long a5) {
        MemorySegment state = SCRATCH.get().callState;
        try {
            long r = (long) ProcessCalls.SYSCALL5.invokeExact(state, number, a1, a2, a3, a4, a5);
            return r >= 0 ? r : -errno(state);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    // ---------------------------------------------------------------- futex

    /** A relative or absolute timeout for the futex calls, in the per-thread scratch; NULL for none. */
    public static MemorySegment futexTimeout(long nanos) {
        if (nanos < 0) return MemorySegment.NULL;
        MemorySegment ts = SCRATCH.get().timespec;
        timespec.tv_sec(ts, nanos / 1_000_000_000L);
        timespec.tv_nsec(ts, nanos % 1_000_000_000L);
        return ts;
    }

    /**
     * futex(2): the result, or {@code -errno}. An interrupted wait reports 0 (a spurious wake-up, which futex
     * users re-check anyway; resuming it here would restart its relative timeout).
     */
    public static long futexRaw(MemorySegment word, int op, int value, MemorySegment timeout, MemorySegment word2, int value3) {
        MemorySegment state = SCRATCH.get().callState;
        try {
            long r = (long) FutexCalls.FUTEX.invokeExact(state, (long) fdkit_h.SYS_futex(), word, (long) op, (long) value, timeout, word2, (long) value3);
            if (r >= 0) return r;
            int errno = errno(state);
            return errno == Errno.EINTR ? 0 : -errno;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    /** Per-thread room for futex_waitv's entries (at most FUTEX_WAITV_MAX). */
    public static MemorySegment futexWaitvEntries() {
        Scratch scratch = SCRATCH.get();
        if (scratch.waitv == null) {
            scratch.waitv = allocateFutexWaitv(fdkit_h.FUTEX_WAITV_MAX());
        }
        return scratch.waitv;
    }

    private static final long FUTEX_WAITV_SIZE = futex_waitv.layout().byteSize();

    /** Room for {@code count} struct futex_waitv, kept alive by the caller while the kernel may read it. */
    public static MemorySegment allocateFutexWaitv(int count) {
        return Arena.ofAuto().allocate(futex_waitv.layout(), count);
    }

    /** entries[index] = {val, uaddr, flags, 0}. */
    public static void futexWaitvEntry(MemorySegment entries, int index, long value, long address, int flags) {
        MemorySegment entry = entries.asSlice(index * FUTEX_WAITV_SIZE, FUTEX_WAITV_SIZE);
        futex_waitv.val(entry, value);
        futex_waitv.uaddr(entry, address);
        futex_waitv.flags(entry, flags);
        futex_waitv.__reserved(entry, 0);
    }

    /** futex_waitv(2): the index woken, or {@code -errno}. EINTR is resumed: the timeout is an absolute deadline. */
    public static long futexWaitvRaw(MemorySegment entries, int count, MemorySegment timeout, int clock) {
        MemorySegment state = SCRATCH.get().callState;
        for (;;) {
            long r;
            try {
                r = (long) FutexCalls.FUTEX_WAITV.invokeExact(state, (long) fdkit_h.SYS_futex_waitv(), entries, (long) count, 0L, timeout, (long) clock);
            } catch (Throwable t) {
                throw linkageFailure(t);
            }
            if (r >= 0) return r;
            int errno = errno(state);
            if (errno != Errno.EINTR) return -errno;
        }
    }

    // ---------------------------------------------------------------- mmap / io_uring

    /** mmap(2) of {@code length} bytes of {@code fd} at {@code offset}, shared read-write and prefaulted: the mapping. */
    public static MemorySegment mmapShared(int fd, long length, long offset, String what) throws SyscallException {
        return mmap(fd, length, offset, fdkit_h.MAP_SHARED() | fdkit_h.MAP_POPULATE(), what);
    }

    /**
     * mmap(2) of the first {@code length} bytes of a file, shared read-write, not prefaulted (a file's pages
     * are touched as used); munmap(2) runs when {@code arena} closes, after which the segment is inaccessible.
     * The mapping holds the open file description, so it outlives {@code fd}, and so does a flock(2) on it.
     */
    public static MemorySegment mmapFile(int fd, long length, Arena arena, String what) throws SyscallException {
        return mmap(fd, length, 0, fdkit_h.MAP_SHARED(), what).reinterpret(arena, mapping -> {
            try {
                munmap(mapping);
            } catch (SyscallException e) { // EINVAL only, for a range that is not ours: a bug here
                throw new IllegalStateException(e.getMessage(), e);
            }
        });
    }

    private static MemorySegment mmap(int fd, long length, long offset, int flags, String what) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        try {
            MemorySegment address = (MemorySegment) UringCalls.MMAP.invokeExact(state, MemorySegment.NULL, length,
                    fdkit_h.PROT_READ() | fdkit_h.PROT_WRITE(), flags, fd, offset);
            if (address.address() == -1L) throw error(state, "mmap", what + ", length=" + length);
            return address.reinterpret(length);
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    /** munmap(2). */
    public static void munmap(MemorySegment mapping) throws SyscallException {
        MemorySegment state = SCRATCH.get().callState;
        try {
            if ((int) UringCalls.MUNMAP.invokeExact(state, mapping, mapping.byteSize()) < 0) throw error(state, "munmap", "length=" + mapping.byteSize());
        } catch (SyscallException e) {
            throw e;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    /** io_uring_setup(2): the ring descriptor; {@code params} is filled in by the kernel. */
    public static int ioUringSetup(int entries, MemorySegment params) throws SyscallException {
        long r = syscallRaw(fdkit_h.SYS_io_uring_setup(), entries, params.address(), 0, 0, 0);
        if (r < 0) throw new SyscallException("io_uring_setup", "entries=" + entries, (int) -r);
        return (int) r;
    }

    /**
     * io_uring_enter(2): the number of SQEs submitted, or {@code -errno} (EAGAIN/EBUSY: completions must be
     * reaped first). An interrupted wait (EINTR) reports 0 submitted: the caller reaps and goes on.
     */
    public static int ioUringEnterRaw(int fd, int toSubmit, int minComplete, int flags) {
        MemorySegment state = SCRATCH.get().callState;
        try {
            long r = minComplete == 0 && (flags & fdkit_h.IORING_ENTER_GETEVENTS()) == 0
                    ? (long) UringCalls.ENTER_SUBMIT_ONLY.invokeExact(state, (long) fdkit_h.SYS_io_uring_enter(), (long) fd, (long) toSubmit, 0L, (long) flags, 0L, 0L)
                    : (long) UringCalls.SYSCALL6.invokeExact(state, (long) fdkit_h.SYS_io_uring_enter(), (long) fd, (long) toSubmit, (long) minComplete,
                    (long) flags, 0L, 0L);
            if (r >= 0) return (int) r;
            int errno = errno(state);
            return errno == Errno.EINTR ? 0 : -errno;
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    // ---------------------------------------------------------------- helpers

    private static final long SI_PID_OFFSET = sigchldFieldOffset("si_pid");
    private static final long SI_STATUS_OFFSET = sigchldFieldOffset("si_status");

    private static long sigchldFieldOffset(String field) {
        return siginfo_t.layout().byteOffset(MemoryLayout.PathElement.groupElement("_sifields"),
                MemoryLayout.PathElement.groupElement("_sigchld"), MemoryLayout.PathElement.groupElement(field));
    }
    private static final ValueLayout.OfLong JAVA_LONG_UNALIGNED = ValueLayout.JAVA_LONG_UNALIGNED;

    private static long micros(MemorySegment timeval) {
        return dev.fdkit.internal.linux.timeval.tv_sec(timeval) * 1_000_000L + dev.fdkit.internal.linux.timeval.tv_usec(timeval);
    }

    private static int errno(MemorySegment callState) {
        return (int) ERRNO.get(callState, 0L);
    }

    private static SyscallException error(MemorySegment callState, String syscall, String arguments) {
        return new SyscallException(syscall, arguments, errno(callState));
    }

    private static int invokeInt(MethodHandle handle, MemorySegment state, int a) {
        try {
            return (int) handle.invokeExact(state, a);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    private static int invokeInt(MethodHandle handle, MemorySegment state, int a, int b) {
        try {
            return (int) handle.invokeExact(state, a, b);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    private static int invokeInt(MethodHandle handle, MemorySegment state, MemorySegment a, int b) {
        try {
            return (int) handle.invokeExact(state, a, b);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    private static int invokeInt(MethodHandle handle, MemorySegment state, int a, int b, int c, MemorySegment d) {
        try {
            return (int) handle.invokeExact(state, a, b, c, d);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    private static int invokeInt(MethodHandle handle, MemorySegment state, int a, MemorySegment b, int c, int d) {
        try {
            return (int) handle.invokeExact(state, a, b, c, d);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    private static long invokeLong(MethodHandle handle, MemorySegment state, int fd, MemorySegment buffer, long length) {
        try {
            return (long) handle.invokeExact(state, fd, buffer, length);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    private static long invokeSyscall2(MemorySegment state, long number, long a, long b) {
        try {
            return (long) ProcessCalls.SYSCALL2.invokeExact(state, number, a, b);
        } catch (Throwable t) {
            throw linkageFailure(t);
        }
    }

    /** A downcall cannot throw a checked exception; anything it throws is a bug in the link itself. */
    private static AssertionError linkageFailure(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        return new AssertionError("native call failed", t);
    }

    private static MethodHandle link(String name, FunctionDescriptor descriptor, boolean neverBlocks) {
        MemorySegment address = symbol(name);
        if (neverBlocks && CriticalProbe.AVAILABLE) {
            return LINKER.downcallHandle(address, descriptor, Linker.Option.critical(false), CAPTURE_ERRNO);
        }
        return LINKER.downcallHandle(address, descriptor, CAPTURE_ERRNO);
    }

    /** A never-blocking call linked critical (JDK 22+) with no errno capture: for fast paths that re-issue on failure. */
    private static MethodHandle linkWithoutErrno(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.critical(false));
    }

    /**
     * Whether this JDK links critical downcalls that capture errno (JDK 24+; JDK 22/23 refuse the combination).
     * {@code -Dfdkit.linker.critical=false} links as on JDK 22/23 anyway, so that path is tested on a newer JDK.
     * Read at class initialisation on purpose: the downcall handles are static finals (constant-folded on the
     * hot path), linked once per JVM, so the choice cannot change later; a test of the other path uses a child JVM.
     */
    private static final class CriticalProbe {
        static final boolean AVAILABLE = !"false".equals(System.getProperty("fdkit.linker.critical")) && probe();

        private static boolean probe() {
            try {
                LINKER.downcallHandle(symbol("getpid"), FunctionDescriptor.of(JAVA_INT), Linker.Option.critical(false), CAPTURE_ERRNO);
                return true;
            } catch (IllegalArgumentException jdkBefore24) {
                return false;
            }
        }
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no symbol " + name));
    }

    private static MethodHandle linkSyscall(int argumentCount) {
        return linkSyscall(argumentCount, false);
    }

    private static MethodHandle linkSyscall(int argumentCount, boolean neverBlocks) {
        ValueLayout[] arguments = new ValueLayout[argumentCount + 1];
        java.util.Arrays.fill(arguments, JAVA_LONG);
        FunctionDescriptor descriptor = FunctionDescriptor.of(JAVA_LONG, arguments);
        if (neverBlocks && CriticalProbe.AVAILABLE) {
            return LINKER.downcallHandle(symbol("syscall"), descriptor, Linker.Option.firstVariadicArg(1), Linker.Option.critical(false), CAPTURE_ERRNO);
        }
        return LINKER.downcallHandle(symbol("syscall"), descriptor, Linker.Option.firstVariadicArg(1), CAPTURE_ERRNO);
    }
}
