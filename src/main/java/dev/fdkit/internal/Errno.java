package dev.fdkit.internal;

import dev.fdkit.internal.linux.fdkit_h;

import java.lang.foreign.MemorySegment;

/**
 * errno numbers to names and texts, through glibc's thread-safe strerrorname_np / strerrordesc_np
 * (glibc 2.32+). Where they are missing the number is shown as {@code errno N}.
 */
public final class Errno {
    private Errno() {}

    public static final int EPERM = fdkit_h.EPERM();
    public static final int ENOEXEC = fdkit_h.ENOEXEC();
    public static final int ENOENT = fdkit_h.ENOENT();
    public static final int ESRCH = fdkit_h.ESRCH();
    public static final int EINTR = fdkit_h.EINTR();
    public static final int EBADF = fdkit_h.EBADF();
    public static final int ECHILD = fdkit_h.ECHILD();
    public static final int EAGAIN = fdkit_h.EAGAIN();
    public static final int EACCES = fdkit_h.EACCES();
    public static final int EEXIST = fdkit_h.EEXIST();
    public static final int EBUSY = fdkit_h.EBUSY();
    public static final int EINVAL = fdkit_h.EINVAL();
    public static final int ENOSYS = fdkit_h.ENOSYS();
    public static final int ETIMEDOUT = fdkit_h.ETIMEDOUT();
    public static final int ENOTTY = fdkit_h.ENOTTY();
    public static final int EOPNOTSUPP = fdkit_h.EOPNOTSUPP();
    public static final int ECANCELED = fdkit_h.ECANCELED();

    /** {@code ESRCH}, or {@code errno N} when libc has no name for it. */
    public static String name(int errno) {
        String name = libcString(errno, true);
        return name != null ? name : "errno " + errno;
    }

    /** {@code No such process}, or {@code unknown error} when libc has no text for it. */
    public static String description(int errno) {
        String text = libcString(errno, false);
        return text != null ? text : "unknown error";
    }

    private static String libcString(int errno, boolean name) {
        try {
            MemorySegment text = name ? fdkit_h.strerrorname_np(errno) : fdkit_h.strerrordesc_np(errno);
            return text.equals(MemorySegment.NULL) ? null : text.reinterpret(Integer.MAX_VALUE).getString(0);
        } catch (RuntimeException | LinkageError missingSymbol) {
            return null;
        }
    }
}
