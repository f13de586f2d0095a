package dev.fdkit.bench;

import java.util.List;

/**
 * The rows of bench/REPORT.md: the one place to edit when a benchmark is added.
 * <p>
 * A measurement is named {@code jmh:<benchmark>} (the benchmark's full name in JMH's JSON, e.g.
 * {@code jmh:dev.fdkit.bench.EventFdRoundTrip.fdkit}), {@code c:<name>} (the "name" a C program in
 * src/jmh/c prints, e.g. {@code c:eventfd_roundtrip.idle_thread}) or {@code java:<name>} (the same from a Java
 * main program run by bin/bench, e.g. {@code java:exit_latency.fdkit}). A row compares the fdkit measurement
 * with each baseline as the ratio fdkit / baseline; its target applies to one of those baselines.
 */
final class Rows {
    private Rows() {}

    /** Lower is better (times): the ratio must be at most {@code bound}; else at least {@code bound} (throughputs). */
    record Target(String baseline, boolean atMost, double bound, String source) {
        static Target atMost(double bound, String baseline, String source) {
            return new Target(baseline, true, bound, source);
        }

        static Target atLeast(double bound, String baseline, String source) {
            return new Target(baseline, false, bound, source);
        }

        /**
         * A bound on fdkit's own score, not on a ratio (e.g. at most 2 threads): {@code what} names the unit
         * and the source, as in "fdkit threads (issue 3)". Judged once per row, on its first baseline line.
         */
        static Target atMostValue(double bound, String what) {
            return new Target(ABSOLUTE, true, bound, what);
        }

        private static final String ABSOLUTE = "";

        boolean absolute() {
            return baseline.equals(ABSOLUTE);
        }

        boolean met(double ratio) {
            return atMost ? ratio <= bound : ratio >= bound;
        }

        String text() {
            if (absolute()) return (atMost ? "≤ " : "≥ ") + (bound == Math.rint(bound) ? String.valueOf((long) bound) : String.valueOf(bound)) + " " + source;
            return (atMost ? "≤ " : "≥ ") + bound + "× " + source;
        }
    }

    record Baseline(String label, String key) {}

    /**
     * @param notes       what the row measures and, once known, where its time goes (Markdown, may be empty)
     * @param diagnostics measurements that explain the row (parts of fdkit's path measured alone), listed
     *                    under the row with their scores; not compared
     */
    record Row(String title, String fdkit, List<Baseline> baselines, Target target, String notes, List<String> diagnostics) {}

    // Notes of the futex, ring and io_uring rows.

    private static final String FUTEX_NOTES = """
            One op is one round trip between the benchmark thread and a partner platform thread started in \
            `@Setup`: one process-private futex word alternates between 1 (partner's turn) and 0 (ours) — \
            `set(1); wake(1); while (get() == 1) await(1)`, the partner the mirror image — so a round trip is \
            two FUTEX_WAKE, at least two FUTEX_WAIT and two thread wake-ups. The C baseline \
            (src/jmh/c/futex_pingpong.c) runs the same protocol on two pthreads through raw \
            `syscall(SYS_futex, ..FUTEX_*_PRIVATE..)`; `rawFfm` is the same through a plain FFM downcall (the floor \
            for any FFM futex); `lockSupport` a volatile turn field with `LockSupport.park/unpark`; `eventFd` fdkit's \
            `signal(1)` + blocking `read()` on two EventFds (the read waits through the shared Poller's thread: a \
            third thread in every hop); `eventFdRawFfm` two blocking eventfds (write/read downcalls), as the C \
            program's eventfd variant. All platform threads.""";
    private static final String RING_PAIRED_NOTES = """
""";

    private static final String RING_NOTES = """
            Records per microsecond through a bounded ring from one producer (the JMH thread, one op = one \
            record accepted) to one consumer thread (started in `@Setup`, draining in batches of up to 256 and \
            reading every field). Both back off with `Thread.yield()` when the ring is full / empty, the same \
            for every implementation. fdkit `CompletionRing.offer(cookie, obj, res, res2)` (4096 slots); Agrona \
            `write(msgTypeId, buffer, 0, 32)` of a 32-byte record (256 KiB: 6553 slots of 40 bytes), and the \
            zero-copy `tryClaim` + 4 `putLong` + `commit`; JCTools queues of one preallocated object (a reference, \
            no 32-byte payload: an upper bound, not a like-for-like record ring). fdkit's ring is always \
            multi-producer (claim by CAS), so Agrona's ManyToOneRingBuffer with one producer is the like-for-like \
            comparison; the target is against OneToOne, the faster of the two. Only 2 CPUs: producer and \
            consumer each need one, so anything else running on the machine shows directly in these figures. \
            One fork each (the paired rows above carry the targets).""";
    private static final String RING4_NOTES = """
""";
    private static final String RING_RT_NOTES = """
            Latency of one record there and back: the benchmark thread offers a 32-byte record into a "ping" \
            ring and spins until a partner thread, spinning on that ring, has copied it into a "pong" ring and \
            the benchmark thread has drained it (fdkit `offer` / `drain(handler, 1)`, the partner offering from \
            inside its drain handler; Agrona OneToOneRingBuffer `write` / `read`; JCTools SpscArrayQueue `offer` / \
            `poll` of one object). Both sides spin with `onSpinWait` and yield after 100 idle spins, so neither \
            starves the other on 2 CPUs. The figure is bimodal: with the two threads on different vCPUs a round \
            trip is ~120-220 ns for all three (cache-line hand-offs); when other work occupies one vCPU and both \
            threads share the other, every hand-off waits for a spin budget and a yield, and a round trip costs \
            microseconds to tens of µs (a standalone fdkit loop switched between 80 µs and 175 ns per round trip \
            from one half-second to the next). So compare the best / best column, and only figures from the \
            same mode. No target in issue 4.""";
    private static final String URING_NOP_NOTES = """
            One IORING_OP_NOP submitted and its completion reaped, on one thread: `Uring.submitWith(nop, handler)` \
            (one reusable op, a primitive handler, nothing allocated) or `Uring.submit(new Nop(cookie))` (a future), \
            each one io_uring_enter, then `reap()` until it completed. The row's figure is on \
            `Uring.openUnwatched(64)`, a ring its owner reaps, as the C loop's; "watched" is the same on \
            `Uring.open(64, Poller.open())` (a poller nobody polls), whose epoll callback the kernel runs for \
            every CQE — the C `unbatched_epoll` line measures that cost alone. "Java floor" runs the C loop's \
            calls from Java through fdkit's internal IoUringRing (SQEs through a MemorySegment, the same \
            io_uring_enter downcall, CQEs read into a handler), without Uring's checks, slots, cookies and locks: \
            fdkit / floor is Uring's own cost, floor / C what the JVM and FFM cost. C (src/jmh/c/uring_nop.c): raw \
            io_uring_setup / mmap / io_uring_enter, no liburing, the same 64/512-entry ring; `unbatched_eventfd` \
            registers an eventfd, as fdkit's Uring did before it polled the ring's own descriptor. For reference only, not a \
            target: tokio-uring reports 687K NOPs/s unbatched and 3.69M/s at batch 32 on a 6-core i7 (another \
            machine, another runtime).""";
    private static final String URING_BATCH_NOTES = """
            32 NOPs submitted, then all reaped. The row's fdkit figure is the per-op API: 32 `submit` calls, each \
            preparing one SQE and entering the kernel, so 32 io_uring_enter calls plus one reaping pass — the \
            like-for-like C figure is `batch32_enter_each`. `Uring.submitAll(List<Op>)` prepares all 32 SQEs and \
            enters once (the next row, `UringNop.batch32SubmitAll`): compare it with C `batch32` (32 SQEs, one \
            io_uring_enter, one reaping pass; the tokio-uring batch). In C one enter per batch is 3-4× the \
            enter-per-op throughput (about 230 ns of syscall entry and ring bookkeeping saved per NOP).""";
    private static final String URING_EXIT_NOTES = """
            32 sleeping children are started and watched before each invocation (not timed); the timed part \
            SIGKILLs all 32 through their pidfds and waits until every exit is known and every child reaped \
            (UringProcessExits). Uring: one `Uring.Waitid(process, reap = true)` per child (IORING_OP_WAITID, \
            Linux 6.7), completions reaped by the shared poller thread; the children come from fdkit's internal \
            Spawner and are opened with `ProcessDescriptor.open(pid)`, so io_uring alone waits for them. epoll: \
            `ProcessDescriptor.spawn` children and their `onExit()`, fdkit's default (one epoll event, one \
            waitid with rusage and one EPOLL_CTL_DEL per child, on the poller thread). Both include the \
            kernel's exit of 32 processes, the same work on either side.""";
    private static final String URING_EPOLL_NOTES = """
            One invocation handles 64 eventfds on one thread; the score is ns per eventfd, the ratio Uring / \
            epoll (above 1: the io_uring path costs more). Uring: 64 `Uring.Read` ops (8-byte preallocated \
            buffers) submitted, all 64 EventFds signalled, then `reap()` (and `Poller.poll` of the ring's \
            eventfd when nothing is there yet) until all 64 futures are done. epoll: the same 64 EventFds \
            level-registered on a `Poller.open()`; signal all, `poll` until 64 handlers have run, each \
            `tryReadValue()`. Process-exit batches have their own row (UringProcessExits).""";
    private static final String URING_FUTEX_NOTES = """
            64 futex words, no waiters (the cost of the wake path itself, not of waking threads): \
            `Uring.FutexWake` ops (IORING_OP_FUTEX_WAKE, Linux 6.7) submitted one by one and reaped, against \
            `Futex.wake(1)` — one futex(2) syscall each. The ratio is Uring / direct; the diagnostic \
            `uringFutexWakesSubmitAll` submits the 64 wakes with one `submitAll` (one io_uring_enter). Where the \
            time goes (per-op `submit`): the Uring path makes as many syscalls (one io_uring_enter per op) and adds \
            the completion — a CQE, the ring descriptor's wake-up through epoll's callback, the in-flight map, a future, \
            about 290 B/op (`-prof gc`) — to a wake that is cheap by itself; the direct call allocates nothing. \
            Through io_uring a wake pays off only when batched (one enter for many wakes) or linked to other \
            ring operations.""";

    static final List<Row> ALL = List.of(
            new Row("Syscall round trip (eventfd write + read)",
                    "jmh:dev.fdkit.bench.EventFdRoundTrip.fdkit",
                    List.of(new Baseline("C, one idle thread", "c:eventfd_roundtrip.idle_thread"),
                            new Baseline("C, single thread", "c:eventfd_roundtrip.single_thread"),
                            new Baseline("raw FFM downcall", "jmh:dev.fdkit.bench.EventFdRoundTrip.rawFfm"),
                            new Baseline("raw FFM downcall, critical", "jmh:dev.fdkit.bench.EventFdRoundTrip.rawFfmCritical"),
                            new Baseline("raw FFM, critical + errno capture (as fdkit links)",
                                    "jmh:dev.fdkit.bench.EventFdRoundTrip.rawFfmCriticalErrno")),
                    Target.atMost(1.05, "c:eventfd_roundtrip.idle_thread", "(issue 2)"),
                    """
                    `EventFd.trySignal(1)` + `EventFd.tryReadValue()` on a non-blocking eventfd, against the same \
                    write(2)+read(2) pair in C (src/jmh/c/eventfd_roundtrip.c; best of several ~1 s runs, with and \
                    without one extra thread blocked in pause(): syscalls cost more in a multithreaded process, and \
                    the JVM always is one) and through plain FFM downcall handles with no errno capture \
                    (EventFdRoundTrip.rawFfm; rawFfmCritical linked `Linker.Option.critical(false)`; rawFfmCriticalErrno \
                    also capturing errno into a preallocated segment, exactly as fdkit links the calls on JDK 24+). \
                    fdkit minus rawFfmCriticalErrno is the cost of fdkit's own Java code; the diagnostics below \
                    measure its two suspects alone (EventFdHotPath, no syscalls).""",
                    List.of("jmh:dev.fdkit.bench.EventFdHotPath.useCount", "jmh:dev.fdkit.bench.EventFdHotPath.threadLocal")),
            ProcessRows.SPAWN_REAP, // issue 3's rows: see ProcessRows
            ProcessRows.EXIT_LATENCY,
            ProcessRows.EXIT_LATENCY_WAITFOR,
            ProcessRows.THREADS_1K,
            ProcessRows.THREADS_10K,
            ProcessRows.MEMORY_1K,
            ProcessRows.MEMORY_10K,
            ProcessRows.TOOL_500,
            ProcessRows.TOOL_20K,
            new Row("Futex ping-pong (round trip between two threads)",
                    "jmh:dev.fdkit.bench.FutexPingPong.fdkit",
                    List.of(new Baseline("C, raw syscall(SYS_futex), FUTEX_PRIVATE", "c:futex_pingpong.private"),
                            new Baseline("raw FFM futex downcall", "jmh:dev.fdkit.bench.FutexPingPong.rawFfm"),
                            new Baseline("JDK LockSupport.park/unpark", "jmh:dev.fdkit.bench.FutexPingPong.lockSupport"),
                            new Baseline("fdkit EventFd signal + read (via the shared Poller)", "jmh:dev.fdkit.bench.FutexPingPong.eventFd"),
                            new Baseline("blocking eventfd pair, raw FFM", "jmh:dev.fdkit.bench.FutexPingPong.eventFdRawFfm"),
                            new Baseline("C, blocking eventfd pair", "c:futex_pingpong.eventfd")),
                    Target.atMost(1.1, "c:futex_pingpong.private", "(issue 4)"),
                    FUTEX_NOTES, List.of()),
            new Row("Ring throughput, 1 producer, paired slices (records/µs)",
                    "java:ring_paired.p1.fdkit",
                    List.of(new Baseline("Agrona OneToOneRingBuffer.write, 32-byte record", "java:ring_paired.p1.agrona_one_to_one"),
                            new Baseline("Agrona ManyToOneRingBuffer.write (MPSC, like fdkit)", "java:ring_paired.p1.agrona_many_to_one")),
                    Target.atLeast(1.0, "java:ring_paired.p1.agrona_one_to_one", "Agrona (issue 4)"), RING_PAIRED_NOTES, List.of()),
            new Row("Ring throughput, 4 producers on 2 CPUs, paired slices (records/µs)",
                    "java:ring_paired.p4.fdkit",
                    List.of(new Baseline("Agrona ManyToOneRingBuffer.write, 32-byte record", "java:ring_paired.p4.agrona_many_to_one")),
                    Target.atLeast(1.0, "java:ring_paired.p4.agrona_many_to_one", "Agrona (issue 4)"), "", List.of()),
            new Row("Ring throughput, 1 producer (records/µs)",
                    "jmh:dev.fdkit.bench.RingThroughput.fdkit1",
                    List.of(new Baseline("Agrona OneToOneRingBuffer.write, 32-byte record", "jmh:dev.fdkit.bench.RingThroughput.agronaOneToOne1"),
                            new Baseline("Agrona ManyToOneRingBuffer.write (MPSC, like fdkit)", "jmh:dev.fdkit.bench.RingThroughput.agronaManyToOne1"),
                            new Baseline("Agrona OneToOne tryClaim + 4 putLong + commit", "jmh:dev.fdkit.bench.RingThroughput.agronaOneToOneClaim1"),
                            new Baseline("JCTools SpscArrayQueue (object reference)", "jmh:dev.fdkit.bench.RingThroughput.jctoolsSpsc1"),
                            new Baseline("JCTools MpscArrayQueue (object reference)", "jmh:dev.fdkit.bench.RingThroughput.jctoolsMpsc1")),
                    null,
                    RING_NOTES,
                    List.of("jmh:dev.fdkit.bench.RingHotPath.fdkit", "jmh:dev.fdkit.bench.RingHotPath.agronaOneToOne",
                            "jmh:dev.fdkit.bench.RingHotPath.agronaManyToOne", "jmh:dev.fdkit.bench.RingHotPath.jctoolsSpsc",
                            "jmh:dev.fdkit.bench.RingHotPath.jctoolsMpsc")),
            new Row("Ring throughput, 4 producers on 2 CPUs (records/µs)",
                    "jmh:dev.fdkit.bench.RingThroughput.fdkit4",
                    List.of(new Baseline("Agrona ManyToOneRingBuffer.write, 32-byte record", "jmh:dev.fdkit.bench.RingThroughput.agronaManyToOne4"),
                            new Baseline("Agrona ManyToOne tryClaim + 4 putLong + commit", "jmh:dev.fdkit.bench.RingThroughput.agronaManyToOneClaim4"),
                            new Baseline("JCTools MpscArrayQueue (object reference)", "jmh:dev.fdkit.bench.RingThroughput.jctoolsMpsc4")),
                    null,
                    RING4_NOTES, List.of()),
            new Row("Ring round trip: one record there and back between two spinning threads",
                    "jmh:dev.fdkit.bench.RingRoundTrip.fdkit",
                    List.of(new Baseline("Agrona OneToOneRingBuffer write / read", "jmh:dev.fdkit.bench.RingRoundTrip.agrona"),
                            new Baseline("JCTools SpscArrayQueue offer / poll (object reference)", "jmh:dev.fdkit.bench.RingRoundTrip.jctools")),
                    null, RING_RT_NOTES, List.of()),
            new Row("io_uring NOP round trip, unbatched, handler path `submitWith` (ops/s)",
                    "jmh:dev.fdkit.bench.UringNop.unbatchedHandler",
                    List.of(new Baseline("C, raw io_uring syscalls", "c:uring_nop.unbatched"),
                            new Baseline("C, raw, ring descriptor in an idle epoll set", "c:uring_nop.unbatched_epoll"),
                            new Baseline("C, raw, eventfd registered", "c:uring_nop.unbatched_eventfd"),
                            new Baseline("Java floor: fdkit's internal IoUringRing alone, the C loop in Java", "jmh:dev.fdkit.bench.UringNop.unbatchedRingOnly"),
                            new Baseline("fdkit, handler path on a watched ring", "jmh:dev.fdkit.bench.UringNop.unbatchedHandlerWatched"),
                            new Baseline("fdkit, future path `submit(op)`", "jmh:dev.fdkit.bench.UringNop.unbatched")),
                    Target.atLeast(0.8, "c:uring_nop.unbatched", "C (issue 13)"), URING_NOP_NOTES, List.of()),
            new Row("io_uring NOP, batches of 32 (ops/s)",
                    "jmh:dev.fdkit.bench.UringNop.batch32",
                    List.of(new Baseline("C, 32 × (SQE + io_uring_enter), then reap: what fdkit's API does", "c:uring_nop.batch32_enter_each"),
                            new Baseline("C, 32 SQEs, one io_uring_enter (a batch submit)", "c:uring_nop.batch32"),
                            new Baseline("C, one io_uring_enter per 32, eventfd registered", "c:uring_nop.batch32_eventfd")),
                    null, URING_BATCH_NOTES, List.of()),
            new Row("io_uring NOP, batches of 32 through Uring.submitAllWith (ops/s)",
                    "jmh:dev.fdkit.bench.UringNop.batch32SubmitAllWith",
                    List.of(new Baseline("C, 32 SQEs, one io_uring_enter", "c:uring_nop.batch32"),
                            new Baseline("C, one io_uring_enter per 32, eventfd registered", "c:uring_nop.batch32_eventfd"),
                            new Baseline("Java floor: fdkit's internal IoUringRing alone, the C loop in Java", "jmh:dev.fdkit.bench.UringNop.batch32RingOnly"),
                            new Baseline("fdkit, `submitAll` (a future per op, watched ring)", "jmh:dev.fdkit.bench.UringNop.batch32SubmitAll")),
                    Target.atLeast(0.6, "c:uring_nop.batch32", "C (issue 13)"), "As the row above, with one `submitAllWith(ops, handler)` of 32 NOP records made once, on the unwatched ring: one io_uring_enter per batch and nothing allocated, as in C; `submitAll` does the same with a future per op.", List.of()),
            new Row("Uring vs epoll: batch of 64 eventfd reads (ns per read; ratio = Uring / epoll)",
                    "jmh:dev.fdkit.bench.UringVsEpoll.uringEventFdReads",
                    List.of(new Baseline("fdkit Poller (epoll) + EventFd.tryReadValue", "jmh:dev.fdkit.bench.UringVsEpoll.epollEventFdReads")),
                    null, URING_EPOLL_NOTES, List.of("jmh:dev.fdkit.bench.UringVsEpoll.uringEventFdReadsSubmitAll")),
            new Row("Uring vs direct: batch of 64 futex wakes (ns per wake; ratio = Uring / direct)",
                    "jmh:dev.fdkit.bench.UringVsEpoll.uringFutexWakes",
                    List.of(new Baseline("fdkit Futex.wake(1), futex(2) directly", "jmh:dev.fdkit.bench.UringVsEpoll.directFutexWakes")),
                    null, URING_FUTEX_NOTES, List.of("jmh:dev.fdkit.bench.UringVsEpoll.uringFutexWakesSubmitAll")),
            new Row("Uring vs epoll: batch of 32 process exits, SIGKILL → exit known and reaped (µs per exit; ratio = Uring / epoll)",
                    "jmh:dev.fdkit.bench.UringProcessExits.uringWaitid",
                    List.of(new Baseline("fdkit ProcessDescriptor.onExit (pidfd on the shared Poller, waitid there)",
                            "jmh:dev.fdkit.bench.UringProcessExits.pollerOnExit")),
                    null, URING_EXIT_NOTES, List.of()));

}
