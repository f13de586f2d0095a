package dev.fdkit.jcstress;

import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.Uapi;

/** What the tests ask the kernel. */
final class Kernel {
    private Kernel() {}

    /**
     * A pipe whose write end is the descriptor under test and whose read end the test keeps, to see the
     * write end's close(2) as a hang-up. That holds however numbers are reused: jcstress builds the next
     * states (opening descriptors) while other states are still being judged, so "is this number closed?"
     * could be answered by someone else's descriptor.
     */
    record Pipe(int readEnd, int writeEnd) {
        static Pipe open() {
            try {
                long ends = Syscalls.pipe2(Uapi.O_CLOEXEC | Uapi.O_NONBLOCK);
                return new Pipe((int) ends, (int) (ends >>> 32));
            } catch (SyscallException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }

        /** Whether the write end has been closed: the read end reports a hang-up (POLLHUP) from then on. */
        boolean writeEndClosed() {
            try {
                return (Syscalls.poll(readEnd, Uapi.POLLIN, 0) & Uapi.POLLHUP) != 0;
            } catch (SyscallException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }

        /** Closes the read end: the test's own descriptor, once it has looked. */
        void closeReadEnd() {
            try {
                Syscalls.close(readEnd);
            } catch (SyscallException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
        }
    }

    /** Whether {@code number}, a descriptor the caller holds open, is readable now (poll(2) with no wait). */
    static boolean isReadable(int number) {
        try {
            return (Syscalls.poll(number, Uapi.POLLIN, 0) & Uapi.POLLIN) != 0;
        } catch (SyscallException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }
}
