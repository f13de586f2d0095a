package dev.fdkit;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.FlightRecorder;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Threshold;
import jdk.jfr.Timespan;

/**
 * fdkit's JDK Flight Recorder events, all named {@code dev.fdkit.*}: {@code jfr print --events 'dev.fdkit.*'
 * recording.jfr}. Each is created, and its fields filled, only where a recording has it enabled: nothing is
 * allocated for them on the hot path otherwise (JFR's own contract for disabled events).
 * <p>
 * Every site asks {@link #recorderStarted()} before creating one: the first event object a JVM creates loads
 * and initialises Flight Recorder's metadata (measured: 0.11–0.19 s), most of a short {@code fdkit run}.
 */
final class FdkitEvents {
    private FdkitEvents() {}

    /**
     * Whether this JVM's Flight Recorder has started (a recording at launch, {@code jcmd JFR.start}, the
     * Recording API): before that no event can be recorded, so none is created. One volatile read.
     */
    static boolean recorderStarted() {
        return FlightRecorder.isInitialized();
    }

    @Name("dev.fdkit.ProcessSpawned")
    @Label("Process Spawned")
    @Category("fdkit")
    @Description("A child started by fdkit; the event's duration is the spawn (posix_spawn and pidfd_open)")
    @StackTrace(false)
    static final class ProcessSpawned extends Event {
        @Label("Command")
        String command;
        @Label("PID")
        long pid;
    }

    @Name("dev.fdkit.ProcessExited")
    @Label("Process Exited")
    @Category("fdkit")
    @Description("fdkit learnt a process's exit: its status, and how long from the pidfd's readiness being seen to onExit() completing")
    @StackTrace(false)
    static final class ProcessExited extends Event {
        @Label("PID")
        long pid;
        @Label("Status")
        String status;
        @Label("Exit Code")
        @Description("The exit code, or -1 when killed by a signal or unknown")
        int exitCode;
        @Label("Notification Latency")
        @Description("From the poller seeing the pidfd readable to the exit future completing (reap and status included)")
        @Timespan(Timespan.NANOSECONDS)
        long notificationLatency;
    }

    @Name("dev.fdkit.PollerStall")
    @Label("Poller Stall")
    @Category("fdkit")
    @Description("A handler ran on a poller's thread for longer than the threshold, delaying every other registration")
    @Threshold("20 ms")
    static final class PollerStall extends Event {
        @Label("Registration")
        String registration;
    }

    @Name("dev.fdkit.RingFull")
    @Label("Completion Ring Full")
    @Category("fdkit")
    @Description("CompletionRing.offer refused a record: the ring was full")
    @StackTrace(false)
    static final class RingFull extends Event {
        @Label("Capacity")
        int capacity;
    }

    @Name("dev.fdkit.UringCqOverflow")
    @Label("io_uring CQ Overflow")
    @Category("fdkit")
    @Description("Completions did not fit in a Uring's completion queue; the kernel kept them (IORING_FEAT_NODROP) and fdkit flushed them")
    @StackTrace(false)
    static final class UringCqOverflow extends Event {
        @Label("CQ Entries")
        int cqEntries;
        @Label("Flushes")
        @Description("How many times the overflow list was flushed during this reap")
        int flushes;
    }
}
