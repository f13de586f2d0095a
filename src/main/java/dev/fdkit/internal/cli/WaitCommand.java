package dev.fdkit.internal.cli;

import dev.fdkit.ProcessDescriptor;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** {@code fdkit wait PID...}: like pidwait / tail --pid, for processes that need not be ours. */
final class WaitCommand {
    private WaitCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws InterruptedException {
        if (args.length == 0) throw new Main.UsageException("needs at least one PID");
        List<ProcessDescriptor> watched = new ArrayList<>();
        int status = 0;
        for (String arg : args) {
            long pid;
            try {
                pid = Long.parseLong(arg);
            } catch (NumberFormatException e) {
                throw new Main.UsageException("not a pid: '" + arg + "'");
            }
            try {
                watched.add(ProcessDescriptor.open(pid));
            } catch (IOException | IllegalArgumentException e) {
                err.println("fdkit wait: " + e.getMessage());
                status = 1;
            }
        }
        for (ProcessDescriptor p : watched) {
            p.onExit().thenAccept(exit -> {
                synchronized (out) {
                    out.println(p.pid() + ": " + exit);
                }
            });
        }
        for (ProcessDescriptor p : watched) {
            p.waitFor();
            p.close();
        }
        return status; // 0 once every process has exited, 1 if some pid could not be watched
    }
}
