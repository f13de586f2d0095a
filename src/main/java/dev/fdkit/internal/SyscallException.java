package dev.fdkit.internal;

import java.util.Objects;

/**
 * A syscall-layer call failed: the call, its arguments and the errno. The object model translates it into the
 * public {@code ErrnoException}, with the same message, at the call site, as the JDK's sun.nio.fs translates
 * its UnixException. Checked, and deliberately not an IOException: the compiler then finds every call whose
 * failure the object model must translate, and none can reach a caller untranslated.
 */
public final class SyscallException extends Exception {
    private static final long serialVersionUID = 1L;

    private final String syscall;
    private final int errno;

    /**
     * @param syscall   the call that failed, as written in its man page ({@code eventfd_write})
     * @param arguments the arguments worth showing, already formatted ({@code fd=5, value=1}); may be empty
     * @param errno     the positive errno value the call reported
     */
    public SyscallException(String syscall, String arguments, int errno) {
        super(message(syscall, arguments, errno), null, true, false); // no stack trace: the translation has the caller's
        this.syscall = syscall;
        this.errno = errno;
    }

    /** {@code pidfd_open(pid=123) failed: ESRCH (No such process)}: the one format of a failed call's message. */
    public static String message(String syscall, String arguments, int errno) {
        Objects.requireNonNull(syscall, "syscall");
        // Never throw here, on an error path: a non-positive errno (a caller's slip) is shown for what it is.
        if (errno <= 0) return syscall + "(" + arguments + ") failed, but with no error number (errno " + errno + ")";
        return syscall + "(" + arguments + ") failed: " + Errno.name(errno) + " (" + Errno.description(errno) + ")";
    }

    /** The call that failed, such as {@code pidfd_open}. */
    public String syscall() {
        return syscall;
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }
}
