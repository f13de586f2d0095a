package dev.fdkit;

import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Run by {@link ProcessFallbackTest} in a JVM of its own started with {@code -Dfdkit.disable=pidfd_open}
 * (the feature probe runs once per JVM): exercises the no-pidfd path and prints one line per check, then
 * {@code FALLBACK OK <n> checks} and exits 0, or {@code FALLBACK FAILED: ...} and exits 1. Only the JDK and
 * fdkit are on its class path as far as it cares: no test framework.
 */
public final class FallbackScenario {
    private FallbackScenario() {}

    private static int checks;

    public static void main(String[] args) {
        try {
            run();
            System.out.println("FALLBACK OK " + checks + " checks");
            System.exit(0);
        } catch (Throwable t) {
            System.out.println("FALLBACK FAILED: " + t);
            t.printStackTrace(System.out);
            System.exit(1);
        }
    }

    private static void check(boolean condition, String what) {
        if (!condition) throw new AssertionError(what);
        checks++;
        System.out.println("ok: " + what);
    }

    private static <T> void checkEquals(T expected, T actual, String what) {
        check(Objects.equals(expected, actual), what + " (expected " + expected + ", got " + actual + ")");
    }

    private static ExitStatus exit(ProcessDescriptor p) throws Exception {
        return p.onExit().get(10, TimeUnit.SECONDS);
    }

    private static ProcessBuilder quiet(String... argv) {
        return new ProcessBuilder(argv).redirectInput(Redirect.PIPE).redirectOutput(Redirect.DISCARD).redirectError(Redirect.INHERIT);
    }

    private static void run() throws Exception {
        Capability pidfd = Linux.feature(Feature.PIDFD_OPEN);
        check(!pidfd.available(), "pidfd_open is unavailable: " + pidfd.cause());
        check(!Linux.has(Feature.PIDFD_SEND_SIGNAL) && !Linux.has(Feature.WAITID_P_PIDFD), "pidfd_send_signal and waitid P_PIDFD follow it");

        // An exit callback (on the reaper thread here) that waits for another exit: the reaper hands its loop on.
        try (ProcessDescriptor a = ProcessDescriptor.start(quiet("cat")); ProcessDescriptor b = ProcessDescriptor.start(quiet("sh", "-c", "cat; exit 8"))) {
            CompletableFuture<Boolean> dependentStarted = new CompletableFuture<>();
            CompletableFuture<Integer> seen = a.onExit().thenApply(x -> {
                dependentStarted.complete(true);
                try {
                    return b.waitFor().code();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            a.stdin().close();
            dependentStarted.get(10, TimeUnit.SECONDS);
            b.stdin().close();
            checkEquals(8, seen.get(10, TimeUnit.SECONDS), "waitFor inside an onExit dependent on the reaper thread");
        }

        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sh", "-c", "exit 3"))) {
            ExitStatus s = exit(p);
            checkEquals(ExitStatus.Kind.EXITED, s.kind(), "exit status kind");
            checkEquals(3, s.code(), "exit code");
            check(s.resourceUsage().isPresent(), "resource usage of a reaped child");
            check(p.isChild() && !p.isAlive(), "child, not alive after exit");
            try {
                p.fd();
                check(false, "fd() without a pidfd must throw");
            } catch (UnsupportedOperationException expected) {
                check(expected.getMessage().contains("no pidfd"), "fd() says there is no pidfd");
            }
        }

        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sh", "-c", "kill -TERM $$"))) {
            ExitStatus s = exit(p);
            checkEquals(ExitStatus.Kind.KILLED, s.kind(), "death by signal");
            checkEquals(15, s.signal(), "SIGTERM reported");
        }

        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            check(p.isAlive(), "sleep is alive");
            check(p.waitFor(Duration.ofMillis(100)).isEmpty(), "waitFor(100 ms) is empty while it runs");
            check(p.kill(), "kill() of a live child returns true");
            ExitStatus s = exit(p);
            checkEquals(ExitStatus.Kind.KILLED, s.kind(), "killed child kind");
            checkEquals(9, s.signal(), "SIGKILL reported");
            check(!p.isAlive(), "not alive after kill");
            check(!p.kill(), "kill() of an exited, reaped child returns false");
            check(!p.signal(0), "signal(0) of an exited child returns false");
        }

        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "cat; echo err >&2"))) {
            p.stdin().write("through the pipes\n".getBytes(StandardCharsets.UTF_8));
            p.stdin().close();
            checkEquals("through the pipes\n", new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8), "stdout pipe");
            checkEquals("err\n", new String(p.stderr().readAllBytes(), StandardCharsets.UTF_8), "stderr pipe");
            check(exit(p).success(), "cat exits 0");
        }

        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "ls /proc/$$/fd"))) {
            checkEquals("0\n1\n2\n", new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8), "the child has descriptors 0, 1, 2 only");
            exit(p);
        }

        ProcessDescriptor killOnClose = ProcessDescriptor.start(quiet("sleep", "30"), SpawnOption.KILL_ON_CLOSE);
        CompletableFuture<ExitStatus> killOnCloseExit = killOnClose.onExit();
        killOnClose.close();
        checkEquals(9, killOnCloseExit.get(10, TimeUnit.SECONDS).signal(), "KILL_ON_CLOSE kills on close");

        ProcessDescriptor closedEarly = ProcessDescriptor.start(quiet("sleep", "0.2"));
        CompletableFuture<ExitStatus> closedEarlyExit = closedEarly.onExit();
        closedEarly.close();
        check(closedEarlyExit.get(10, TimeUnit.SECONDS).success(), "a child closed before its exit is still watched and reaped");

        // Not our child: it can be watched, but not signalled race-free without a pidfd.
        Process jdk = new ProcessBuilder("sleep", "0.3").start();
        try (ProcessDescriptor other = ProcessDescriptor.open(jdk.pid())) {
            check(!other.isChild(), "open(pid) of a non-child");
            check(other.isAlive(), "the non-child is alive");
            for (Runnable signal : List.<Runnable>of(() -> other.signal(0), other::terminate, other::kill)) {
                try {
                    signal.run();
                    check(false, "signalling a non-child without pidfds must throw");
                } catch (UnsupportedOperationException expected) {
                    check(expected.getMessage().contains("race-free"), "signal to a non-child: UnsupportedOperationException");
                }
            }
            ExitStatus s = other.onExit().get(10, TimeUnit.SECONDS);
            checkEquals(ExitStatus.Kind.UNKNOWN, s.kind(), "a non-child's exit is noticed, its status unknown");
            check(!other.isAlive(), "the non-child is gone");
        }
        checkEquals(0, jdk.waitFor(), "the JDK reaped its own child");

        long unused = Processes.unusedPid();
        try {
            ProcessDescriptor.open(unused).close();
            check(false, "open of a nonexistent pid must throw");
        } catch (ErrnoException e) {
            checkEquals("ESRCH", e.errnoName(), "open of a nonexistent pid");
        }
        try {
            ProcessDescriptor.open(Processes.referenceHandlerTid()).close(); // kill(2) would accept it: it signals the thread's process
            check(false, "open of a thread id must throw");
        } catch (ErrnoException e) {
            check(e.getMessage().contains("which is a thread of process " + ProcessHandle.current().pid()), "open of a thread id says it is a thread: " + e.getMessage());
        }

        List<ProcessDescriptor> many = new ArrayList<>();
        for (int i = 0; i < 200; i++) many.add(ProcessDescriptor.start(quiet("sh", "-c", "exit " + (i % 7))));
        for (int i = 0; i < many.size(); i++) {
            ExitStatus s = exit(many.get(i));
            if (s.code() != i % 7) throw new AssertionError("child " + i + ": " + s);
            many.get(i).close();
        }
        check(true, "200 children, each exit code exact");

        long reapers = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().startsWith("fdkit-reaper")).count();
        checkEquals(1L, reapers, "one fallback reaper thread");
        List<Long> zombies = Processes.zombieChildrenAfter(Duration.ofSeconds(2));
        checkEquals(List.of(), zombies, "no zombie children");
    }
}
