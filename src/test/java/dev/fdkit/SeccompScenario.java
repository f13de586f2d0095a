package dev.fdkit;

import java.io.FileInputStream;
import java.lang.ProcessBuilder.Redirect;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Run by {@link SeccompFaultTest} in a JVM of its own: {@code SeccompScenario EPERM pidfd_open waitid:3 ...}
 * first installs a seccomp filter that makes those system calls fail with that errno ({@code name:N} only
 * when the first argument is N), before any fdkit class has probed anything, then exercises the public API.
 * <p>
 * Each check prints {@code check.<name>=ok: <detail>} when fdkit gave the right answer — the documented
 * fallback where {@link Linux#features()} says a feature is unavailable — or {@code check.<name>=<exception>}
 * otherwise; a check bounds every wait, so a hang shows as a TimeoutException. Unavailable features print as
 * {@code feature.<NAME>=<cause>}. Nothing here decides which failures are acceptable: the test does.
 */
public final class SeccompScenario {
    private SeccompScenario() {}

    private static final long TIMEOUT_SECONDS = 10;

    public static void main(String[] args) throws Exception {
        int errno = switch (args[0]) {
            case "EPERM" -> dev.fdkit.internal.linux.fdkit_h.EPERM();
            case "ENOSYS" -> dev.fdkit.internal.linux.fdkit_h.ENOSYS();
            default -> throw new IllegalArgumentException("errno must be EPERM or ENOSYS, was " + args[0]);
        };
        List<Seccomp.Rule> rules = new ArrayList<>();
        for (int i = 1; i < args.length; i++) {
            if (args[i].equals("linking=jdk22")) { // before any fdkit class links a call: as on JDK 22/23
                System.setProperty("fdkit.linker.critical", "false");
                continue;
            }
            String[] rule = args[i].split(":");
            rules.add(rule.length == 1 ? Seccomp.Rule.always(rule[0]) : Seccomp.Rule.whenFirstArgumentIs(rule[0], Integer.parseInt(rule[1])));
        }
        Seccomp.install(errno, rules);
        System.out.println("seccomp.mode=" + RawLinux.statusField("self", "Seccomp"));
        System.out.println("seccomp.filters=" + RawLinux.statusField("self", "Seccomp_filters"));

        System.out.println("criticalWithErrno=" + dev.fdkit.internal.Syscalls.criticalWithErrno());
        for (Capability c : Linux.features()) if (!c.available()) System.out.println("feature." + c.feature() + "=" + c.cause());
        check("eventfd", SeccompScenario::eventFd);
        check("poller", SeccompScenario::poller);
        check("sharedPoller", () -> "ok: " + Poller.shared());
        check("sharedPollerAgain", () -> "ok: " + Poller.shared()); // the same answer: not a poisoned class initialiser
        check("spawnExit", SeccompScenario::spawnExit);
        check("spawnKill", SeccompScenario::spawnKill);
        check("waitForExit", SeccompScenario::waitForExit);
        check("killOnClose", SeccompScenario::killOnClose);
        check("killProcessGroup", SeccompScenario::killProcessGroup);
        check("pipes", SeccompScenario::pipes);
        check("childDescriptors", SeccompScenario::childDescriptors);
        check("openNonChild", SeccompScenario::openNonChild);
        check("openMissingPid", SeccompScenario::openMissingPid);
        check("futexPlatformThread", () -> futexWake(Thread.ofPlatform()));
        check("futexVirtualThread", () -> futexWake(Thread.ofVirtual()));
        check("futexWaitv", SeccompScenario::futexWaitv);
        check("uring", SeccompScenario::uring);
        check("sharedUring", () -> {
            if (Linux.has(Feature.IO_URING)) return "ok: " + Uring.shared();
            return expectUnsupported(Uring::shared, Linux.feature(Feature.IO_URING).cause());
        });
        check("noZombies", () -> {
            List<Long> zombies = Processes.zombieChildrenAfter(Duration.ofSeconds(2));
            return zombies.isEmpty() ? "ok: none" : "zombies " + zombies;
        });
        long reapers = Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals("fdkit-reaper")).count();
        System.out.println("reaperThreads=" + reapers);
        System.out.println("done=true");
        System.exit(0);
    }

    private interface Check {
        String run() throws Exception;
    }

    private static void check(String name, Check check) {
        long start = System.nanoTime();
        String result;
        try {
            result = check.run();
        } catch (Throwable t) {
            result = t.toString().replace('\n', ' ');
            if (t.getCause() != null) result += " / cause: " + t.getCause().toString().replace('\n', ' ');
        }
        System.out.println("check." + name + "=" + result);
        System.out.println("millis." + name + "=" + (System.nanoTime() - start) / 1_000_000);
    }

    private static String require(boolean condition, String detail) {
        return (condition ? "ok: " : "wrong: ") + detail;
    }

    /** The documented refusal: UnsupportedOperationException carrying the probe's cause. */
    private static String expectUnsupported(Runnable call, String cause) {
        try {
            call.run();
            return "wrong: no UnsupportedOperationException although " + cause;
        } catch (UnsupportedOperationException e) {
            return require(e.getMessage().contains(cause), "UnsupportedOperationException: " + e.getMessage());
        }
    }

    private static ExitStatus exit(ProcessDescriptor p) throws Exception {
        return p.onExit().get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    }

    private static ProcessBuilder quiet(String... argv) {
        return new ProcessBuilder(argv).redirectOutput(Redirect.DISCARD).redirectError(Redirect.INHERIT);
    }

    private static String eventFd() throws Exception {
        try (EventFd e = EventFd.open()) {
            e.signal(5);
            long value = e.tryReadValue();
            return require(value == 5, "read " + value);
        }
    }

    private static String poller() throws Exception {
        try (Poller poller = Poller.open(); EventFd e = EventFd.open()) {
            int[] seen = new int[1];
            poller.register(e, Poller.READABLE, (r, events) -> seen[0] = events);
            e.signal(1);
            int handled = poller.poll(Duration.ofSeconds(TIMEOUT_SECONDS));
            return require(handled == 1 && seen[0] == Poller.READABLE, handled + " handler(s), events " + seen[0]);
        }
    }

    private static String spawnExit() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sh", "-c", "exit 7"))) {
            ExitStatus s = exit(p);
            return require(s.kind() == ExitStatus.Kind.EXITED && s.code() == 7, s.toString());
        }
    }

    /** waitFor on this platform thread: polls the pidfd and reaps (by pid without waitid(P_PIDFD)), or the fallback reaper's. */
    private static String waitForExit() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sh", "-c", "exit 4"))) {
            ExitStatus s = p.waitFor(Duration.ofSeconds(TIMEOUT_SECONDS)).orElseThrow(() -> new IllegalStateException("waitFor timed out"));
            ExitStatus seen = exit(p);
            return require(s.kind() == ExitStatus.Kind.EXITED && s.code() == 4 && seen.equals(s), s + ", onExit " + seen);
        }
    }

    private static String spawnKill() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"))) {
            boolean sent = p.kill();
            ExitStatus s = exit(p);
            boolean again = p.kill();
            return require(sent && !again && s.kind() == ExitStatus.Kind.KILLED && s.signal() == 9, "kill " + sent + ", " + s + ", kill again " + again);
        }
    }

    private static String killOnClose() throws Exception {
        ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"), SpawnOption.KILL_ON_CLOSE);
        CompletableFuture<ExitStatus> exit = p.onExit();
        p.close();
        ExitStatus s = exit.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        return require(s.kind() == ExitStatus.Kind.KILLED && s.signal() == 9, s.toString());
    }

    private static String killProcessGroup() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(quiet("sleep", "30"), SpawnOption.NEW_PROCESS_GROUP)) {
            boolean sent = p.killProcessGroup();
            ExitStatus s = exit(p);
            return require(sent && s.kind() == ExitStatus.Kind.KILLED && s.signal() == 9, "sent " + sent + ", " + s);
        }
    }

    private static String pipes() throws Exception {
        try (ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "cat; echo err >&2"))) {
            p.stdin().write("through the pipes\n".getBytes(StandardCharsets.UTF_8));
            p.stdin().close();
            String out = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8);
            String err = new String(p.stderr().readAllBytes(), StandardCharsets.UTF_8);
            ExitStatus s = exit(p);
            return require(out.equals("through the pipes\n") && err.equals("err\n") && s.success(), "out " + out.strip() + ", err " + err.strip() + ", " + s);
        }
    }

    /** With close_range refused, glibc's spawn child must fall back to closing descriptors one by one. */
    private static String childDescriptors() throws Exception {
        try (FileInputStream held = new FileInputStream("/proc/self/status"); // java.io: no close-on-exec
             ProcessDescriptor p = ProcessDescriptor.start(new ProcessBuilder("sh", "-c", "ls /proc/$$/fd"))) {
            String fds = new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8).strip().replace('\n', ' ');
            exit(p);
            return require(fds.equals("0 1 2"), "child holds " + fds + " (we hold " + held.getFD().valid() + ")");
        }
    }

    /**
     * A process fdkit did not start (the JDK's, which the JDK reaps at once: an orphan would wait for init):
     * signal(0) goes through its pidfd, or is refused as documented; its exit is noticed.
     */
    private static String openNonChild() throws Exception {
        Process jdk = new ProcessBuilder("sleep", "30").redirectOutput(Redirect.DISCARD).start();
        try (ProcessDescriptor other = ProcessDescriptor.open(jdk.pid())) {
            String signal;
            if (Linux.has(Feature.PIDFD_SEND_SIGNAL)) {
                signal = require(other.signal(0), "signal(0) sent");
            } else {
                Capability missing = Linux.feature(Linux.has(Feature.PIDFD_OPEN) ? Feature.PIDFD_SEND_SIGNAL : Feature.PIDFD_OPEN);
                signal = expectUnsupported(() -> other.signal(0), missing.cause());
            }
            jdk.destroyForcibly();
            ExitStatus s = exit(other);
            return require(!other.isChild() && signal.startsWith("ok") && !other.isAlive(), signal + "; exit noticed: " + s);
        } finally {
            jdk.destroyForcibly().waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        }
    }

    private static String openMissingPid() throws Exception {
        long unused = Processes.unusedPid();
        try {
            ProcessDescriptor.open(unused).close();
            return "wrong: opened nonexistent pid " + unused;
        } catch (ErrnoException e) {
            return require(e.errnoName().equals("ESRCH"), e.getMessage());
        }
    }

    /** A waiter blocked in FUTEX_WAIT is woken by wake(); started after the change, it sees the new value. Never a timeout. */
    private static String futexWake(Thread.Builder builder) throws Exception {
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        CompletableFuture<Futex.WaitResult> result = new CompletableFuture<>();
        Thread waiter = builder.start(() -> {
            try {
                result.complete(futex.await(0, Duration.ofSeconds(TIMEOUT_SECONDS)));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        futex.set(1);
        futex.wake(1);
        Futex.WaitResult r = result.get(TIMEOUT_SECONDS + 5, TimeUnit.SECONDS);
        waiter.join();
        return require(r == Futex.WaitResult.WOKEN || r == Futex.WaitResult.VALUE_MISMATCH, r.toString());
    }

    private static String futexWaitv() {
        Futex futex = Futex.privateWord(Arena.ofAuto().allocate(JAVA_INT), 0);
        futex.set(1);
        if (!Linux.has(Feature.FUTEX_WAITV)) {
            return expectUnsupported(() -> Futex.awaitAny(List.of(futex), new int[] {0}, Duration.ofSeconds(1)), Linux.feature(Feature.FUTEX_WAITV).cause());
        }
        Futex.Woken w = Futex.awaitAny(List.of(futex), new int[] {0}, Duration.ofSeconds(TIMEOUT_SECONDS));
        return require(w.result() == Futex.WaitResult.VALUE_MISMATCH, w.toString());
    }

    private static String uring() throws Exception {
        if (!Linux.has(Feature.IO_URING)) return expectUnsupported(() -> Uring.open(8).close(), Linux.feature(Feature.IO_URING).cause());
        try (Uring ring = Uring.open(8)) {
            Completion c = ring.submit(new Uring.Nop(42)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            return require(c.cookie() == 42 && c.res() == 0, c.toString());
        }
    }
}
