package dev.fdkit.internal;

import dev.fdkit.LeakGuard;
import dev.fdkit.internal.linux.fdkit_h;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Close-once and use-count: close(2) runs exactly once, and never while a syscall may still use the number. */
@ExtendWith(LeakGuard.class)
@Timeout(60)
class FdTest {

    @Test
    void closeReturnsTrueOnceAndClosesTheDescriptor() throws Exception {
        Fd fd = newEventFd();
        int number = fd.number();
        assertThat(isOpenEventFd(number)).isTrue();
        assertThat(fd.close()).isTrue();
        assertThat(fd.close()).isFalse();
        assertThat(fd.isClosed()).isTrue();
        assertThat(isOpenEventFd(number)).isFalse();
    }

    @Test
    void acquireAfterCloseFailsAndTryAcquireReturnsMinusOne() throws Exception {
        Fd fd = newEventFd();
        fd.close();
        assertThatThrownBy(fd::acquire).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed").hasMessageContaining("test");
        assertThat(fd.tryAcquire()).isEqualTo(-1);
    }

    @Test
    void closeDuringAUseDefersCloseUntilTheLastRelease() throws Exception {
        Fd fd = newEventFd();
        int number = fd.acquire();
        int second = fd.acquire();
        assertThat(second).isEqualTo(number);
        assertThat(fd.close()).isTrue();
        assertThat(fd.tryAcquire()).as("no new uses once closing").isEqualTo(-1);
        assertThat(isOpenEventFd(number)).as("still open while in use").isTrue();
        fd.release();
        assertThat(isOpenEventFd(number)).as("one use left").isTrue();
        fd.release();
        assertThat(isOpenEventFd(number)).as("closed by the last release").isFalse();
    }

    @Test
    void closeHooksRunOnceBeforeTheDescriptorIsClosed() throws Exception {
        Fd fd = newEventFd();
        int number = fd.number();
        AtomicInteger runs = new AtomicInteger();
        List<Boolean> openDuringHook = new ArrayList<>();
        Runnable removed = runs::incrementAndGet;
        assertThat(fd.addCloseHook(() -> {
            runs.incrementAndGet();
            openDuringHook.add(isOpenEventFd(number));
        })).isTrue();
        assertThat(fd.addCloseHook(removed)).isTrue();
        fd.removeCloseHook(removed);
        fd.close();
        fd.close();
        assertThat(runs.get()).isEqualTo(1);
        assertThat(openDuringHook).containsExactly(true);
        assertThat(fd.addCloseHook(runs::incrementAndGet)).as("too late").isFalse();
        assertThat(runs.get()).isEqualTo(1);
    }

    @Test
    void concurrentClosersCloseExactlyOnceWhileUsersComeAndGo() throws Exception {
        for (int round = 0; round < 200; round++) {
            Fd fd = newEventFd();
            int number = fd.number();
            AtomicInteger winners = new AtomicInteger();
            AtomicReference<Throwable> failure = new AtomicReference<>();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                boolean closer = t % 2 == 0;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    if (closer) {
                        if (fd.close()) winners.incrementAndGet();
                        return;
                    }
                    for (int i = 0; i < 100; i++) {
                        int n = fd.tryAcquire();
                        if (n < 0) return;
                        try {
                            // A syscall on the number: it must still be our eventfd, never EBADF.
                            Syscalls.eventfdRead(n);
                        } catch (SyscallException e) {
                            failure.compareAndSet(null, e); // EBADF: a syscall ran on a closed number
                        } finally {
                            fd.release();
                        }
                    }
                }));
            }
            start.countDown();
            for (Thread t : threads) t.join();
            fd.close();
            assertThat(failure.get()).isNull();
            assertThat(winners.get()).isEqualTo(1);
            assertThat(isOpenEventFd(number)).isFalse();
        }
    }

    @Test
    void negativeNumbersAreRejected() {
        assertThatThrownBy(() -> new Fd(-1, "test")).isInstanceOf(IllegalArgumentException.class);
    }

    private static Fd newEventFd() throws SyscallException {
        return new Fd(Syscalls.eventfd(0, fdkit_h.EFD_CLOEXEC() | fdkit_h.EFD_NONBLOCK()), "test");
    }

    /**
     * Whether {@code number} is an open eventfd. Another test thread could reuse the number for another
     * eventfd only if something else opened one meanwhile; these tests run alone.
     */
    private static boolean isOpenEventFd(int number) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + number)).toString().equals("anon_inode:[eventfd]");
        } catch (IOException e) {
            return false;
        }
    }
}
