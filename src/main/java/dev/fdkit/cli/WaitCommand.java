package dev.fdkit.cli;

import dev.fdkit.ProcessDescriptor;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** {@code fdkit wait PID...}: like pidwait / tail --pid, for processes that need not be ours. */
final class WaitCommand {
    private WaitCommand() {}

    static final String USAGE = """
            usage: fdkit wait PID...

            Waits until every PID has exited, like pidwait(1) or tail --pid; the processes need not be
            fdkit's children. Prints "PID: STATUS" for each as it exits, with as much as the kernel tells
            about a process that is not our child (its exit code needs Linux 6.15, PIDFD_INFO_EXIT).

            options:
              -h, --help  print this help

            exit status:
              0  every process has exited (whatever their own exit statuses)
              1  some PID could not be watched, e.g. no such process (the others are still waited for)
              2  bad arguments: no PID, a PID that is not a whole number from 1 to 2147483647, or fdkit's own
            """;

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) throw new Main.UsageException("needs at least one PID");
        // Every argument is checked before anything is waited for: a typo must not cost a long wait first.
        List<Long> pids = new ArrayList<>();
        for (String arg : args) {
            if (arg.equals("--")) continue;
            if (arg.startsWith("-") && !arg.substring(1).chars().allMatch(Character::isDigit)) {
                throw new Main.UsageException("unknown option '" + arg + "' (options: -h)");
            }
            long pid = Main.positive("a PID", arg, Integer.MAX_VALUE);
            if (pid == ProcessHandle.current().pid()) throw new Main.UsageException("PID " + pid + " is fdkit itself: it would wait forever");
            pids.add(pid);
        }
        if (pids.isEmpty()) throw new Main.UsageException("needs at least one PID");
        List<ProcessDescriptor> watched = new ArrayList<>();
        int status = Main.OK;
        for (long pid : pids) {
            try {
                watched.add(ProcessDescriptor.open(pid));
            } catch (IOException e) {
                err.println("fdkit wait: cannot watch pid " + pid + ": " + e.getMessage());
                status = Main.FAILED;
            }
        }
        // Printed by the completion itself and joined, so the last line is out before the JVM exits.
        List<CompletableFuture<Boolean>> printed = new ArrayList<>();
        for (ProcessDescriptor p : watched) {
            printed.add(p.onExit().handle((exit, error) -> {
                synchronized (out) {
                    if (exit != null) out.println(p.pid() + ": " + exit);
                    else err.println("fdkit wait: pid " + p.pid() + ": exit not known: " + Main.describe(error));
                }
                return exit != null;
            }));
        }
        for (int i = 0; i < watched.size(); i++) {
            if (!printed.get(i).join()) status = Main.FAILED;
            watched.get(i).close();
        }
        return status;
    }
}
