package dev.fdkit;

import dev.fdkit.internal.Errno;
import dev.fdkit.internal.SyscallException;

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

    /** The syscall layer's failure, as callers see it: same call, errno and message; thrown where the object model called it. */
    ErrnoException(SyscallException failure) {
        this(failure, null);
    }

    /** The same, its message led by what the call was working on ({@code /tmp/ring: mmap(fd=5, ...) failed: ...}); null for nothing. */
    private ErrnoException(SyscallException failure, String subject) {
        super(subject == null ? failure.getMessage() : subject + ": " + failure.getMessage());
        this.syscall = failure.syscall();
        this.errno = failure.errno();
        for (Throwable t : failure.getSuppressed()) addSuppressed(t);
    }

    /** For a method that declares IOException: the failure, thrown where the object model called the syscall layer. */
    static ErrnoException of(SyscallException failure) {
        return new ErrnoException(failure);
    }

    /** {@link #of(SyscallException)} with the message led by {@code subject}, such as the file the call worked on. */
    static ErrnoException of(SyscallException failure, String subject) {
        return new ErrnoException(failure, subject);
    }

    /**
     * For a method that cannot declare IOException (constructors of unchecked APIs, callbacks, close without
     * IOException): the failure as an {@link java.io.UncheckedIOException} whose cause is the ErrnoException.
     */
    static java.io.UncheckedIOException unchecked(SyscallException failure) {
        return new java.io.UncheckedIOException(new ErrnoException(failure));
    }

    private static String message(String syscall, String arguments, int errno) {
        return SyscallException.message(syscall, arguments, errno);
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
