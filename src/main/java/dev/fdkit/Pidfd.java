package dev.fdkit;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Fd;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

import java.util.function.Supplier;

/**
 * A process's pidfd, and the one way fdkit borrows its number: only while the descriptor is open, holding a
 * use of it meanwhile, so that close() cannot release the number (and the kernel hand it to another file)
 * under a syscall.
 */
final class Pidfd {
    /** Something done with a number (the pidfd's, or a pid) that may fail with an errno. */
    @FunctionalInterface
    interface IntUse<T, X extends Exception> {
        T apply(int number) throws X;
    }

    final Fd fd;

    Pidfd(int number) {
        this.fd = new Fd(number, "ProcessDescriptor");
    }

    /** Runs {@code use} with the number while this pidfd is open; {@code ifClosed} once it is closed (the watch too has let go of it). */
    <T, X extends Exception> T ifOpen(Supplier<T> ifClosed, IntUse<T, X> use) throws X {
        int number = fd.tryAcquire();
        if (number < 0) return ifClosed.get();
        try {
            return use.apply(number);
        } finally {
            fd.release();
        }
    }

    /** Whether the process has exited, reaped or not: a pidfd is readable from the exit on. */
    static boolean exited(int number) throws SyscallException {
        return awaitExited(number, 0);
    }

    /**
     * Blocks the calling thread in poll(2) until the process has exited or {@code timeoutMillis} have passed
     * (0: only looks): whether it has exited. False also after a signal (EINTR): the caller re-checks its deadline.
     */
    static boolean awaitExited(int number, int timeoutMillis) throws SyscallException {
        return (Syscalls.poll(number, Uapi.POLLIN, timeoutMillis) & Uapi.POLLIN) != 0;
    }
}
