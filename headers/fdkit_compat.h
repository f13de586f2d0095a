/*
 * Stable kernel UAPI that is newer than the linux-libc-dev / glibc headers of the build machine
 * (Debian 12: kernel headers 6.1, glibc 2.36). Each definition is guarded so that newer system
 * headers win, and names the kernel release that introduced it. liburing and systemd carry the
 * same kind of compat header.
 *
 * io_uring opcodes are enumerators in <linux/io_uring.h>, so they cannot be #ifndef-guarded;
 * they are defined here under an FDKIT_ prefix with the kernel's numeric values instead.
 */
#ifndef FDKIT_COMPAT_H
#define FDKIT_COMPAT_H

#include <linux/types.h>

/* pidfd_open(2) flag: a pidfd for one thread rather than the thread group (Linux 6.9). */
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

/* pidfd_send_signal(2) scope flags (Linux 6.9). */
#ifndef PIDFD_SIGNAL_THREAD
#define PIDFD_SIGNAL_THREAD (1UL << 0)
#define PIDFD_SIGNAL_THREAD_GROUP (1UL << 1)
#define PIDFD_SIGNAL_PROCESS_GROUP (1UL << 2)
#endif

/* ioctl(PIDFD_GET_INFO) (Linux 6.13); PIDFD_INFO_EXIT and pidfd_info.exit_code (Linux 6.15). */
#ifndef PIDFD_INFO_PID
#define PIDFD_INFO_PID (1UL << 0)
#define PIDFD_INFO_CREDS (1UL << 1)
#define PIDFD_INFO_CGROUPID (1UL << 2)
#endif
#ifndef PIDFD_INFO_EXIT
#define PIDFD_INFO_EXIT (1UL << 3)
#endif
#ifndef PIDFD_INFO_SIZE_VER0
#define PIDFD_INFO_SIZE_VER0 64
#endif
#ifndef PIDFS_IOCTL_MAGIC
#define PIDFS_IOCTL_MAGIC 0xFF
#endif
#ifndef PIDFD_GET_INFO
struct pidfd_info {
    __u64 mask;
    __u64 cgroupid;
    __u32 pid;
    __u32 tgid;
    __u32 ppid;
    __u32 ruid;
    __u32 rgid;
    __u32 euid;
    __u32 egid;
    __u32 suid;
    __u32 sgid;
    __u32 fsuid;
    __u32 fsgid;
    __s32 exit_code;
};
#define PIDFD_GET_INFO _IOWR(PIDFS_IOCTL_MAGIC, 11, struct pidfd_info)
#endif

/* io_uring opcodes (Linux 6.7): waitid and futex operations. */
#define FDKIT_IORING_OP_WAITID 50
#define FDKIT_IORING_OP_FUTEX_WAIT 51
#define FDKIT_IORING_OP_FUTEX_WAKE 52
#define FDKIT_IORING_OP_FUTEX_WAITV 53

/* futex2 flags used by futex_waitv(2) entries and the io_uring futex ops (Linux 5.16 / 6.7). */
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE 128
#endif

/* The ABI probe (src/test) checks that these values agree with whatever the system headers have. */
#endif
