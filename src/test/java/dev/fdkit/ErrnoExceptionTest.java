package dev.fdkit;

import dev.fdkit.internal.Errno;
import dev.fdkit.internal.SyscallException;
import dev.fdkit.internal.Syscalls;
import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

@ExtendWith(LeakGuard.class)
@Timeout(30)
class ErrnoExceptionTest {

    @Test
    void pidfdOpenOfAMissingProcessNamesCallArgumentsAndErrno() throws IOException {
        assumeTrue(Linux.has(Feature.PIDFD_OPEN), () -> "pidfd_open unavailable here: " + Linux.feature(Feature.PIDFD_OPEN).cause());
        int pid = missingPid();
        assertThatThrownBy(() -> ProcessDescriptor.open(pid))
                .isInstanceOfSatisfying(ErrnoException.class, e -> {
                    assertThat(e).isInstanceOf(IOException.class);
                    assertThat(e.getMessage()).isEqualTo("pidfd_open(pid=" + pid + ") failed: ESRCH (No such process)");
                    assertThat(e.syscall()).isEqualTo("pidfd_open");
                    assertThat(e.errno()).isEqualTo(fdkit_h.ESRCH()).isPositive();
                    assertThat(e.errnoName()).isEqualTo("ESRCH");
                });
    }

    @Test
    void theSyscallLayerFailsWithItsOwnTypeWhichTheObjectModelTranslatesUnchanged() {
        // An eventfd write on a number that is certainly not open (beyond RLIMIT_NOFILE's usual range). (Not a
        // read: the read fast path trusts its caller's open eventfd and reports any failure as EAGAIN.)
        String message = "eventfd_write(fd=" + (1 << 30) + ", value=1) failed: EBADF (Bad file descriptor)";
        assertThatThrownBy(() -> Syscalls.eventfdWrite(1 << 30, 1))
                .isInstanceOfSatisfying(SyscallException.class, e -> {
                    assertThat(e).isNotInstanceOf(IOException.class); // the compiler makes the object model translate it
                    assertThat(e.errno()).isEqualTo(Errno.EBADF);
                    assertThat(e.getMessage()).isEqualTo(message);
                    ErrnoException translated = ErrnoException.of(e);
                    assertThat(translated).hasMessage(message);
                    assertThat(translated.syscall()).isEqualTo("eventfd_write");
                    assertThat(translated.errnoName()).isEqualTo("EBADF");
                    assertThat(ErrnoException.unchecked(e).getCause()).isInstanceOf(ErrnoException.class).hasMessage(message);
                });
    }

    @Test
    void messageReadsSyscallArgumentsNameAndDescription() {
        ErrnoException e = new ErrnoException("eventfd_write", "fd=5, value=1", Errno.EAGAIN);
        assertThat(e).hasMessage("eventfd_write(fd=5, value=1) failed: EAGAIN (Resource temporarily unavailable)");
        assertThat(e.errno()).isEqualTo(Errno.EAGAIN);
        assertThat(e.errnoName()).isEqualTo("EAGAIN");
        assertThat(new ErrnoException("close", "", Errno.EBADF)).hasMessage("close() failed: EBADF (Bad file descriptor)");
    }

    @Test
    void unknownErrnoIsShownByNumber() {
        ErrnoException e = new ErrnoException("ioctl", "fd=3", 4000);
        assertThat(e.errnoName()).isEqualTo("errno 4000");
        assertThat(e).hasMessage("ioctl(fd=3) failed: errno 4000 (unknown error)");
    }

    @Test
    void aMissingErrnoIsSaidPlainlyNotShownAsSuccess() {
        assertThat(new ErrnoException("read", "fd=3", 0)).hasMessage("read(fd=3) failed, but with no error number (errno 0)");
    }

    @Test
    void errnoConstantsAreTheHeaderValues() {
        assertThat(Errno.ESRCH).isEqualTo(fdkit_h.ESRCH());
        assertThat(Errno.name(Errno.ESRCH)).isEqualTo("ESRCH");
        assertThat(Errno.description(Errno.ESRCH)).isEqualTo("No such process");
        assertThat(Errno.name(Errno.EINTR)).isEqualTo("EINTR");
        assertThat(Errno.name(Errno.ECHILD)).isEqualTo("ECHILD");
    }

    /** A pid no process has: counting down from pid_max, the first one without /proc/PID. */
    private static int missingPid() throws IOException {
        // Not Files.readString: it may read 1 byte first, and integer sysctls answer EOF to any read at offset > 0.
        int pidMax = Integer.parseInt(Files.readAllLines(Path.of("/proc/sys/kernel/pid_max")).get(0).trim());
        for (int pid = pidMax - 1; pid > 1; pid--) {
            if (!Files.exists(Path.of("/proc/" + pid))) return pid;
        }
        throw new AssertionError("every pid below " + pidMax + " is in use");
    }
}
