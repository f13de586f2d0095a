package dev.fdkit;

import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * KILL_ON_CLOSE children still running when the JVM exits normally (System.exit, end of main, SIGTERM):
 * a shutdown hook kills them, as the kernel closes a pdfork descriptor when its process exits. A JVM killed
 * with SIGKILL or crashing runs no hook, and posix_spawn cannot set PR_SET_PDEATHSIG in the child.
 */
final class KillOnExit {
    private KillOnExit() {}

    private static final Set<Signaller> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("fdkit-kill-on-exit").unstarted(
                () -> LIVE.forEach(Signaller::killForClose)));
    }

    /** Kills with {@code signals} at JVM exit unless {@code exit} has completed by then. */
    static void add(Signaller signals, CompletableFuture<ExitStatus> exit) {
        LIVE.add(signals);
        exit.whenComplete((status, failure) -> LIVE.remove(signals));
    }
}
