package dev.fdkit;

import dev.fdkit.internal.Errno;

import java.io.IOException;

/**
 * A system call failed. The message names the call, its arguments and the errno, for example
 * {@code pidfd_open(pid=123) failed: ESRCH (No such process)}.
 */
public final class ErrnoException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The call that failed, kept apart from the message so handlers need not parse it. */
    private final String syscall;
    /** The positive errno value the call reported. */
    private final int errno;

    /**
     * Builds the message from the call, its arguments and the errno's name and description.
     *
     * @param syscall   the call that failed, as written in its man page ({@code eventfd_write})
     * @param arguments the arguments worth showing, already formatted ({@code fd=5, value=1}); may be empty
     * @param errno     the positive errno value the call reported
     */
    public ErrnoException(String syscall, String arguments, int errno) {
        super(message(syscall, arguments, errno));
        this.syscall = syscall;
        this.errno = errno;
    }

    private static String message(String syscall, String arguments, int errno) {
        java.util.Objects.requireNonNull(syscall, "syscall");
        // Never throw here, on an error path: a non-positive errno (a caller's slip) is shown for what it is.
        if (errno <= 0) return syscall + "(" + arguments + ") failed, but with no error number (errno " + errno + ")";
        return syscall + "(" + arguments + ") failed: " + Errno.name(errno) + " (" + Errno.description(errno) + ")";
    }

    /**
     * The name of the system call or libc function that failed.
     *
     * @return the name as written in its man page, such as {@code pidfd_open}
     */
    public String syscall() {
        return syscall;
    }

    /**
     * The errno value, as a positive number.
     *
     * @return the errno the call reported, to compare with the values in errno.h
     */
    public int errno() {
        return errno;
    }

    /**
     * The symbolic errno name.
     *
     * @return the name, such as {@code ESRCH}; {@code errno 123} when libc does not know it
     */
    public String errnoName() {
        return Errno.name(errno);
    }
}
