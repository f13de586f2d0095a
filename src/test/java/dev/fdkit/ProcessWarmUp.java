package dev.fdkit;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.ProcessBuilder.Redirect;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Starts what lives for the whole JVM once a process test has run, so that {@link LeakGuard} (listed after
 * this extension, so it takes its baseline afterwards) does not count it as the first class's leak:
 * <ul>
 * <li>ProcessDescriptor's Cleaner thread ({@code Cleaner-N}), started when the class initialises;</li>
 * <li>the JDK's {@code CompletableFutureDelayScheduler} thread, which fdkit uses to retry PIDFD_GET_INFO for
 *     non-children;</li>
 * <li>/dev/random and /dev/urandom, which NativePRNG opens once and keeps (JUnit's @TempDir names its
 *     directories with SecureRandom);</li>
 * <li>the shared Uring (its ring descriptor), which a CompletionRing's eventfd doorbell and a virtual
 *     thread's futex wait open on first use, and the virtual-thread scheduler's timer thread
 *     ({@code ForkJoinPool-1-delayScheduler} on JDK 25), which a timed park on a virtual thread starts.</li>
 * </ul>
 */
final class ProcessWarmUp implements BeforeAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        new SecureRandom().nextInt();
        if (Linux.has(Feature.IO_URING)) Uring.shared();
        // Not a wait: a timed park of a virtual thread is the action that starts the delay scheduler (above).
        Thread parker = Thread.ofVirtual().start(() -> LockSupport.parkNanos(1_000));
        if (!parker.join(Duration.ofSeconds(10))) throw new IllegalStateException("a 1 us park did not end within 10 s");
        CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS)).get(10, TimeUnit.SECONDS);
        ProcessBuilder pb = new ProcessBuilder("true").redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD);
        try (ProcessDescriptor p = ProcessDescriptor.start(pb)) {
            p.onExit().get(10, TimeUnit.SECONDS);
        }
    }
}
