package dev.fdkit.bench;

import dev.fdkit.bench.Rows.Baseline;
import dev.fdkit.bench.Rows.Row;
import dev.fdkit.bench.Rows.Target;

import java.util.List;

/**
 * The ProcessDescriptor rows of bench/REPORT.md (issues 3 and 13), listed in {@link Rows#ALL}: spawn + reap,
 * exit latency (onExit and waitFor), threads and memory while watching children, the fdkit tool. Kept here so that their long notes do not crowd
 * Rows.java.
 */
final class ProcessRows {
    private ProcessRows() {}

    private static final String SPAWN_NOTES = """
            Sequential spawn + reap of `/bin/true` (absolute path, stdio inherited, the JMH fork's environment), \
            in ms per process. fdkit: `ProcessDescriptor.spawn("/bin/true")`, `waitFor()`, `close()` \
            (SpawnReap.fdkit); the JDK: `new ProcessBuilder("/bin/true").inheritIO().start().waitFor()` (its \
            default launch mechanism: posix_spawn of jspawnhelper, which execs the program; a reaper thread per \
            child); NuProcess 3.0.0: `NuProcessBuilder` with an empty handler, `waitFor` (it always pipes the \
            three stdio streams and finds exits by polling: 1 fork × 3 × 2 s in the full run). C \
            (src/jmh/c/spawn_reap.c): posix_spawn + waitpid in a loop, best of several runs (the target's \
            baseline); "C, as fdkit" makes fdkit's calls in C: POSIX_SPAWN_SETSIGMASK + SETSIGDEF (every \
            signal), addclosefrom_np(3), pidfd_open, poll, waitid(P_PIDFD) with rusage. "Spawner + waitid" \
            (SpawnReap.spawnerWaitid) is fdkit's internal posix_spawnp + pidfd_open called directly and a \
            blocking waitid(P_PIDFD) on the calling thread: fdkit's syscalls from the JVM without the public \
            API, the objects or the poller.""";

    private static final String EXIT_NOTES = """
            From the event that makes a child exit to the moment its exit callback runs, in µs, nothing \
            subtracted. Each exit: spawn /bin/cat with stdin and stdout on pipes, attach the callback, write a \
            byte and read it back (cat is running and back in read(0)), then t0, close cat's stdin; cat reads \
            EOF and exits; t1 is stamped by the callback. Measured by main programs, not JMH (JMH cannot time an \
            interval that ends on another thread): dev.fdkit.bench.ExitLatency and src/jmh/c/exit_latency.c, \
            with the same structure (runs of about 1 s, each run's mean, best run; a warm-up first, 3 s for \
            the JVM's JIT). fdkit: `onExit().thenRun(..)`, which runs on the fdkit-poller thread after its \
            epoll_wait returned and it reaped the child (waitid with rusage). C, the target's baseline: the \
            thread that closed the pipe waits in epoll_wait on the pidfd itself and stamps after waitid. "C, \
            poller thread": fdkit's architecture in C (a second thread in epoll_wait reaps and stamps; the \
            closing thread waits on a semaphore). "raw FFM": the C loop's exact calls from Java on one thread \
            (fdkit's internal Syscalls/Spawner): the difference from C is the JVM as a parent. The JDK's \
            `Process.onExit()` completes from its reaper thread and then runs the callback on the common \
            ForkJoinPool; NuProcess polls (a few runs of a few exits). The diagnostics give each variant's \
            median (per run, best run): the mean also counts the rare exits the scheduler delays, which on \
            2 vCPUs shared by cat, the poller, the waiting thread and the JVM's own threads are more frequent \
            for fdkit than for a single C thread.""";

    private static final String THREADS_NOTES = """
            Not a timing: dev.fdkit.bench.WatchFootprint starts N `/bin/sleep 600` children and keeps them \
            watched, each library in a fresh JVM (the benchmark JVM's options plus a fixed, pre-touched 512 MiB \
            heap), after a rehearsal of 1,000 children started, killed and reaped the same way (class loading, \
            the JIT, thread pools). The score is the live Java threads (`Thread.getAllStackTraces()`) while \
            watching minus those at the JVM's start, before fdkit or the JDK's process code was touched: every \
            thread watching costs, including ones a library starts once. fdkit: the fdkit-poller and the \
            Cleaner of fdkit's Fd class (a JDK `Cleaner.create()` thread; the fdkit-named count is in the \
            diagnostics); the JDK: one "process reaper" thread per child; NuProcess: its processing thread(s). \
            The target is on fdkit's count itself: at most 2 at any number of children. Every child is killed \
            and reaped at the end; the program fails if any is left (a zombie or alive).""";

    private static final String THREADS_10K_NOTES = """
""";

    private static final String MEMORY_NOTES = """
            Same runs as the thread rows: memory the watching JVM needs per watched child, in KiB: the growth \
            of VmRSS (/proc/self/status; the heap is pre-touched, so this is native memory: thread stacks, \
            direct buffers, malloc) plus the growth of the Java heap in use after a full GC, divided by the \
            number of children. The children's own memory is in neither; kernel memory per process (the \
            pidfd, pipes) neither. The JDK's figure is mostly its reaper threads' stacks. Descriptors per child \
            (in the settings below): fdkit 1 (the pidfd), the JDK 0 with inherited/discarded stdio, NuProcess 3 \
            (it always pipes stdin, stdout and stderr). No target in issue 3: the row is informative.""";

    private static List<Baseline> footprintBaselines(int count, String metric) {
        return List.of(new Baseline("java.lang.ProcessBuilder", "java:footprint.jdk." + count + "." + metric),
                new Baseline("NuProcess 3.0.0", "java:footprint.nuprocess." + count + "." + metric));
    }

    private static Row threads(int count) {
        return new Row(String.format("Threads while watching %,d children (threads added)", count),
                "java:footprint.fdkit." + count + ".threads", footprintBaselines(count, "threads"),
                Target.atMostValue(2, "threads (issue 3)"), count == 1_000 ? THREADS_NOTES : THREADS_10K_NOTES,
                List.of("java:footprint.fdkit." + count + ".fdkit_threads"));
    }

    private static Row memory(int count) {
        return new Row(String.format("Memory per watched child, %,d children (KiB)", count),
                "java:footprint.fdkit." + count + ".memory", footprintBaselines(count, "memory"), null,
                count == 1_000 ? MEMORY_NOTES : "As the row above, with " + String.format("%,d", count) + " children.",
                List.of("java:footprint.fdkit." + count + ".native", "java:footprint.fdkit." + count + ".heap",
                        "java:footprint.jdk." + count + ".native", "java:footprint.jdk." + count + ".heap",
                        "java:footprint.nuprocess." + count + ".native", "java:footprint.nuprocess." + count + ".heap"));
    }

    static final Row SPAWN_REAP = new Row("Spawn + reap /bin/true, sequential (ms per process)",
            "jmh:dev.fdkit.bench.SpawnReap.fdkit",
            List.of(new Baseline("C posix_spawn + waitpid", "c:spawn_reap.posix_spawn"),
                    new Baseline("C, as fdkit (sigdefault, closefrom, pidfd, waitid)", "c:spawn_reap.as_fdkit"),
                    new Baseline("fdkit's Spawner + blocking waitid (no poller)", "jmh:dev.fdkit.bench.SpawnReap.spawnerWaitid"),
                    new Baseline("java.lang.ProcessBuilder", "jmh:dev.fdkit.bench.SpawnReap.jdk"),
                    new Baseline("NuProcess 3.0.0", "jmh:dev.fdkit.bench.SpawnReap.nuProcess")),
            Target.atMost(1.15, "c:spawn_reap.posix_spawn", "C (issue 3)"), SPAWN_NOTES, List.of());

    static final Row EXIT_LATENCY = new Row("Exit-notification latency: child exits → onExit callback (µs)",
            "java:exit_latency.fdkit",
            List.of(new Baseline("C pidfd + epoll_wait, same thread", "c:exit_latency.pidfd_epoll"),
                    new Baseline("C pidfd + epoll_wait, poller thread", "c:exit_latency.poller_thread"),
                    new Baseline("raw FFM, the C loop from Java", "java:exit_latency.raw_ffm"),
                    new Baseline("fdkit, echo read directly (setup as in C)", "java:exit_latency.fdkit_direct_echo"),
                    new Baseline("java.lang.Process.onExit()", "java:exit_latency.jdk"),
                    new Baseline("NuProcess 3.0.0 onExit", "java:exit_latency.nuprocess")),
            Target.atMost(1.2, "c:exit_latency.pidfd_epoll", "C (issue 3)"), EXIT_NOTES,
            List.of("java:exit_latency.fdkit.median", "java:exit_latency.fdkit_direct_echo.median", "c:exit_latency.pidfd_epoll.median", "c:exit_latency.poller_thread.median",
                    "java:exit_latency.raw_ffm.median", "java:exit_latency.jdk.median", "java:exit_latency.nuprocess.median"));

    private static final String WAITFOR_NOTES = """
            The same exits as the row above, but nobody attaches a callback: the measuring platform thread calls \
            `p.waitFor()` and stamps t1 when it returns (ExitLatency `exit_latency.fdkit_waitfor`). Nobody else \
            awaits the exit, so fdkit's waitFor blocks in poll(2) on the child's pidfd itself and reaps it with \
            waitid on the calling thread (ExitWatch): one wake-up, the kernel's, as in the C loop the target names \
            (the closing thread in epoll_wait on the pidfd, then waitid). The shared poller, which watches every \
            child from birth, leaves the pidfd alone while a waiter polls it (the waiter puts it back if it \
            gives up first). "echo read directly" reads the echo before t0 as the C program does, on this \
            thread, instead of through `p.stdout()`, whose wait is handed over by the poller thread: the timed \
            part is the same calls, yet it is faster whenever the measuring thread was last woken by the kernel \
            rather than by the poller thread (an unrelated EventFd wait through the poller before t0 slows it \
            too) — thread placement on the two CPUs, not work on fdkit's path. The JDK's `Process.waitFor()` \
            waits until its reaper thread has returned from waitpid and woken it. "fdkit onExit" is the row \
            above's figure: the hand-off through the poller thread that waitFor saves.""";

    static final Row EXIT_LATENCY_WAITFOR = new Row("Exit-notification latency: child exits → waitFor() returns on a platform thread (µs)",
            "java:exit_latency.fdkit_waitfor",
            List.of(new Baseline("C pidfd + epoll_wait, same thread", "c:exit_latency.pidfd_epoll"),
                    new Baseline("raw FFM, the C loop from Java", "java:exit_latency.raw_ffm"),
                    new Baseline("fdkit waitFor, echo read directly (setup as in C)", "java:exit_latency.fdkit_waitfor_direct_echo"),
                    new Baseline("java.lang.Process.waitFor()", "java:exit_latency.jdk_waitfor"),
                    new Baseline("fdkit onExit callback (the row above)", "java:exit_latency.fdkit")),
            Target.atMost(1.2, "c:exit_latency.pidfd_epoll", "C (issue 13)"), WAITFOR_NOTES,
            List.of("java:exit_latency.fdkit_waitfor.median", "c:exit_latency.pidfd_epoll.median",
                    "java:exit_latency.raw_ffm.median", "java:exit_latency.jdk_waitfor.median"));

    /** The fdkit tool against xargs and GNU parallel, whole processes (src/jmh/sh/cli_batch.sh). */
    private static Row tool(int commands, double target) {
        return new Row("`fdkit run -j 4`, " + String.format(java.util.Locale.ROOT, "%,d", commands) + " `true` commands, whole process (s)",
                "java:cli_batch.fdkit_" + commands,
                List.of(new Baseline("xargs -P 4 -I{} sh -c {}", "java:cli_batch.xargs_" + commands),
                        new Baseline("GNU parallel -j 4", "java:cli_batch.parallel_" + commands)),
                Target.atMost(target, "java:cli_batch.xargs_" + commands, "xargs (issue 13)"), """
                Wall time of the whole tool, JVM start-up included, for N lines of `true` read from stdin and run 4 at a \
                time through `sh -c`; rounds interleave the tools. CPU: user + system of the tool and its children \
                (/usr/bin/time). bin/fdkit runs the JVM with an automatically created class-data archive, C1 only and \
                the serial collector; the first, archive-creating run is not measured.""", List.of());
    }

    static final Row TOOL_500 = tool(500, 1.5);
    static final Row TOOL_20K = tool(20_000, 1.05);

    static final Row THREADS_1K = threads(1_000);
    static final Row THREADS_10K = threads(10_000);
    static final Row MEMORY_1K = memory(1_000);
    static final Row MEMORY_10K = memory(10_000);
}
