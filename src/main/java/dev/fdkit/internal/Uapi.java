package dev.fdkit.internal;

import dev.fdkit.internal.linux.fdkit_h;

/**
 * The kernel and libc constants the object model uses, read once from the generated bindings. The object
 * model names them here and never touches the generated package: regenerating it changes only the
 * syscall layer. (The ABI conformance test checks every {@code fdkit_h} constant against the C headers.)
 */
public final class Uapi {
    private Uapi() {}

    public static final int CLD_CONTINUED = fdkit_h.CLD_CONTINUED();
    public static final int CLD_DUMPED = fdkit_h.CLD_DUMPED();
    public static final int CLD_EXITED = fdkit_h.CLD_EXITED();
    public static final int CLD_KILLED = fdkit_h.CLD_KILLED();
    public static final int CLD_STOPPED = fdkit_h.CLD_STOPPED();
    public static final int CLD_TRAPPED = fdkit_h.CLD_TRAPPED();
    public static final int CLOCK_MONOTONIC = fdkit_h.CLOCK_MONOTONIC();
    public static final int EFD_CLOEXEC = fdkit_h.EFD_CLOEXEC();
    public static final int EFD_NONBLOCK = fdkit_h.EFD_NONBLOCK();
    public static final int EFD_SEMAPHORE = fdkit_h.EFD_SEMAPHORE();
    public static final int EPOLLERR = fdkit_h.EPOLLERR();
    public static final int EPOLLET = fdkit_h.EPOLLET();
    public static final int EPOLLHUP = fdkit_h.EPOLLHUP();
    public static final int EPOLLIN = fdkit_h.EPOLLIN();
    public static final int EPOLLONESHOT = fdkit_h.EPOLLONESHOT();
    public static final int EPOLLOUT = fdkit_h.EPOLLOUT();
    public static final int EPOLLRDHUP = fdkit_h.EPOLLRDHUP();
    public static final int EPOLL_CLOEXEC = fdkit_h.EPOLL_CLOEXEC();
    public static final int EPOLL_CTL_ADD = fdkit_h.EPOLL_CTL_ADD();
    public static final int EPOLL_CTL_DEL = fdkit_h.EPOLL_CTL_DEL();
    public static final int EPOLL_CTL_MOD = fdkit_h.EPOLL_CTL_MOD();
    public static final int FDKIT_IORING_OP_FUTEX_WAIT = fdkit_h.FDKIT_IORING_OP_FUTEX_WAIT();
    public static final int FDKIT_IORING_OP_FUTEX_WAITV = fdkit_h.FDKIT_IORING_OP_FUTEX_WAITV();
    public static final int FDKIT_IORING_OP_FUTEX_WAKE = fdkit_h.FDKIT_IORING_OP_FUTEX_WAKE();
    public static final int FDKIT_IORING_OP_WAITID = fdkit_h.FDKIT_IORING_OP_WAITID();
    public static final int FUTEX2_PRIVATE = fdkit_h.FUTEX2_PRIVATE();
    public static final int FUTEX2_SIZE_U32 = fdkit_h.FUTEX2_SIZE_U32();
    public static final int FUTEX_BITSET_MATCH_ANY = fdkit_h.FUTEX_BITSET_MATCH_ANY();
    public static final int FUTEX_CLOCK_REALTIME = fdkit_h.FUTEX_CLOCK_REALTIME();
    public static final int FUTEX_CMP_REQUEUE = fdkit_h.FUTEX_CMP_REQUEUE();
    public static final int FUTEX_PRIVATE_FLAG = fdkit_h.FUTEX_PRIVATE_FLAG();
    public static final int FUTEX_WAIT = fdkit_h.FUTEX_WAIT();
    public static final int FUTEX_WAITV_MAX = fdkit_h.FUTEX_WAITV_MAX();
    public static final int FUTEX_WAIT_BITSET = fdkit_h.FUTEX_WAIT_BITSET();
    public static final int FUTEX_WAKE = fdkit_h.FUTEX_WAKE();
    public static final int FUTEX_WAKE_BITSET = fdkit_h.FUTEX_WAKE_BITSET();
    public static final int F_DUPFD_CLOEXEC = fdkit_h.F_DUPFD_CLOEXEC();
    public static final int F_GETFL = fdkit_h.F_GETFL();
    public static final int F_SETFL = fdkit_h.F_SETFL();
    public static final int IORING_ASYNC_CANCEL_ANY = fdkit_h.IORING_ASYNC_CANCEL_ANY();
    public static final int IORING_CQE_F_MORE = fdkit_h.IORING_CQE_F_MORE();
    public static final int IORING_OP_ASYNC_CANCEL = fdkit_h.IORING_OP_ASYNC_CANCEL();
    public static final int IORING_OP_NOP = fdkit_h.IORING_OP_NOP();
    public static final int IORING_OP_POLL_ADD = fdkit_h.IORING_OP_POLL_ADD();
    public static final int IORING_OP_READ = fdkit_h.IORING_OP_READ();
    public static final int IORING_OP_TIMEOUT = fdkit_h.IORING_OP_TIMEOUT();
    public static final int O_APPEND = fdkit_h.O_APPEND();
    public static final int O_CLOEXEC = fdkit_h.O_CLOEXEC();
    public static final int O_CREAT = fdkit_h.O_CREAT();
    public static final int O_NONBLOCK = fdkit_h.O_NONBLOCK();
    public static final int O_RDONLY = fdkit_h.O_RDONLY();
    public static final int O_RDWR = fdkit_h.O_RDWR();
    public static final int O_TRUNC = fdkit_h.O_TRUNC();
    public static final int O_WRONLY = fdkit_h.O_WRONLY();
    public static final int POLLHUP = fdkit_h.POLLHUP();
    public static final int POLLIN = fdkit_h.POLLIN();
    public static final int POLLOUT = fdkit_h.POLLOUT();
    public static final int P_PID = fdkit_h.P_PID();
    public static final int P_PIDFD = fdkit_h.P_PIDFD();
    public static final int SIGKILL = fdkit_h.SIGKILL();
    public static final int PIDFD_SIGNAL_PROCESS_GROUP = (int) fdkit_h.PIDFD_SIGNAL_PROCESS_GROUP();
    public static final int SIGTERM = fdkit_h.SIGTERM();
    public static final int SIGSTOP = fdkit_h.SIGSTOP();
    public static final int SIGCONT = fdkit_h.SIGCONT();
    public static final int WEXITED = fdkit_h.WEXITED();
    public static final int WNOHANG = fdkit_h.WNOHANG();
    public static final int WNOWAIT = fdkit_h.WNOWAIT();

    // Written out by hand until the next regeneration: headers/fdkit.h does not include <sys/file.h> (flock)
    // and jextract.conf does not list SEEK_END. Both are generic Linux ABI, the same on every architecture;
    // AbiConformanceTest checks every constant here that fdkit_h lacks against the C headers.
    public static final int LOCK_SH = 1;
    public static final int LOCK_EX = 2;
    public static final int LOCK_NB = 4;
    public static final int SEEK_END = 2;
}
