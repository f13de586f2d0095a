package dev.fdkit.internal.cli;

import dev.fdkit.Capability;
import dev.fdkit.Linux;

import java.io.PrintStream;
import java.util.Arrays;

/** The {@code fdkit} command-line tool. */
public final class Main {
    private Main() {}

    private static final String USAGE = """
            usage: fdkit <command> [args]

            commands:
              features                 what this kernel, glibc and JDK offer fdkit (probe table)
              run [-j N] [-n COUNT] [-q] -- CMD [ARGS...]
                                       run CMD (COUNT times, default 1) at most N at once (default: cores)
              run [-j N] [-q]          run each line of stdin as a /bin/sh -c command, at most N at once
                                       both print each exit status and the totals (wall, CPU, threads)
              wait PID...              wait until each process exits (need not be our child), print its
                                       exit status where the kernel can tell it
            """;

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("-h") || args[0].equals("--help") || args[0].equals("help")) {
            (args.length == 0 ? err : out).print(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "features" -> features(out);
                case "run" -> RunCommand.run(rest, out, err);
                case "wait" -> WaitCommand.run(rest, out, err);
                default -> {
                    err.println("fdkit: unknown command '" + args[0] + "'");
                    err.print(USAGE);
                    yield 2;
                }
            };
        } catch (UsageException e) {
            err.println("fdkit " + args[0] + ": " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("fdkit " + args[0] + ": " + e.getMessage());
            return 1;
        }
    }

    static int features(PrintStream out) {
        out.printf("kernel  %s%n", Linux.kernelRelease());
        out.printf("glibc   %s%n", Linux.glibcVersion());
        out.printf("JDK     %s (%s)%n", Runtime.version(), System.getProperty("java.vm.vendor"));
        out.printf("arch    %s%n%n", System.getProperty("os.arch"));
        int width = Linux.features().stream().mapToInt(c -> c.feature().displayName().length()).max().orElse(10);
        out.printf("%-" + width + "s  %-9s  %s%n", "capability", "available", "cause");
        for (Capability c : Linux.features()) {
            out.printf("%-" + width + "s  %-9s  %s%n", c.feature().displayName(), c.available() ? "yes" : "no", c.cause());
        }
        return 0;
    }

    /** Bad command-line input: printed with the command's name, exit status 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
