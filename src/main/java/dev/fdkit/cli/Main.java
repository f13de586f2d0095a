package dev.fdkit.cli;

import dev.fdkit.Capability;
import dev.fdkit.Feature;
import dev.fdkit.Linux;

import java.io.InputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The {@code fdkit} command-line tool.
 * <p>
 * Conventions for every command: {@code -h} / {@code --help} prints its usage to stdout and exits 0; bad
 * arguments print a message naming the argument and the rule, then the command's synopsis, to stderr and
 * exit 2; failures at run time exit 1; {@code run} stopped by signal N exits 128+N.
 */
public final class Main {
    private Main() {}

    /** Exit status: success. */
    static final int OK = 0;
    /** Exit status: something failed at run time (a process failed, a pid named no process...). */
    static final int FAILED = 1;
    /** Exit status: bad command-line arguments. */
    static final int USAGE = 2;

    static final String USAGE_TEXT = """
            usage: fdkit COMMAND [ARGS...]
                   fdkit COMMAND --help      (or: fdkit help COMMAND)
                   fdkit --version

            commands:
              run       run commands at most N at once, every exit noticed by one poller thread;
                        print each exit status and the totals (wall time, CPU time, threads)
              wait      wait until processes exit (they need not be fdkit's children), like pidwait
              features  what this kernel, glibc and JDK offer fdkit (the probe table)

            exit status: 0 success, 1 failure at run time, 2 bad arguments, 128+N fdkit run stopped by
            signal N (see each command's --help)
            """;

    static final String FEATURES_USAGE = """
            usage: fdkit features

            Probes what this kernel, glibc and JDK offer fdkit and prints one line per capability:
            whether it is available, and why (or why not). The system property -Dfdkit.disable=NAME,...
            (names as printed here or Feature enum names, any case; with bin/fdkit pass it through
            JDK_JAVA_OPTIONS) turns capabilities off to force fdkit's fallbacks.

            options:
              -h, --help  print this help

            exit status:
              0  the table was printed
              2  bad arguments (features takes none)
            """;

    public static void main(String[] args) {
        System.exit(run(args, System.in, System.out, System.err, true));
    }

    /** Runs a command in-process, as the tests do: without signal handlers (only {@link #main} installs them). */
    static int run(String[] args, InputStream in, PrintStream out, PrintStream err) {
        return run(args, in, out, err, false);
    }

    /**
     * @param catchSignals whether {@code run} may replace the JVM's SIGTERM, SIGINT and SIGHUP handling while its
     *                     commands run: true only in the tool's own JVM (see {@link StopSignals})
     */
    private static int run(String[] args, InputStream in, PrintStream out, PrintStream err, boolean catchSignals) {
        if (args.length == 0) {
            err.print(USAGE_TEXT);
            return USAGE;
        }
        String command = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        if (command.equals("--version")) {
            out.println("fdkit " + version());
            return OK;
        }
        if (isHelp(command)) {
            if (rest.length == 0) {
                out.print(USAGE_TEXT);
                return OK;
            }
            String usage = rest.length == 1 ? usage(rest[0]) : null;
            if (usage == null) {
                err.println("fdkit help: takes one command name (run, wait or features), was '" + String.join(" ", rest) + "'");
                err.print(USAGE_TEXT);
                return USAGE;
            }
            out.print(usage);
            return OK;
        }
        if (usage(command) == null) {
            err.println("fdkit: unknown command '" + command + "' (commands: run, wait, features)");
            err.print(USAGE_TEXT);
            return USAGE;
        }
        try {
            if (asksForHelp(command, rest)) {
                out.print(usage(command));
                return OK;
            }
            warnAboutUnknownFeatureNames(System.getProperty(Linux.DISABLE_PROPERTY), err);
            return switch (command) {
                case "features" -> features(rest, out);
                case "run" -> RunCommand.run(rest, in, out, err, catchSignals);
                case "wait" -> WaitCommand.run(rest, out, err);
                default -> throw new AssertionError(command);
            };
        } catch (UsageException e) {
            err.println("fdkit " + command + ": " + e.getMessage());
            err.print(synopsis(command));
            err.println("(fdkit " + command + " --help for details)");
            return USAGE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("fdkit " + command + ": interrupted");
            return FAILED;
        } catch (Exception e) {
            err.println("fdkit " + command + ": " + describe(e));
            return FAILED;
        }
    }

    /** An error's message for a person: the cause of a CompletionException, the class name if there is no message. */
    static String describe(Throwable e) {
        if (e instanceof java.util.concurrent.CompletionException && e.getCause() != null) e = e.getCause();
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    static boolean isHelp(String arg) {
        return arg.equals("-h") || arg.equals("--help") || arg.equals("help");
    }

    /** -h or --help among a command's own arguments: for run, those before "--" (the rest is the child's). */
    private static boolean asksForHelp(String command, String[] args) {
        for (String arg : args) {
            if (command.equals("run") && arg.equals("--")) return false;
            if (arg.equals("-h") || arg.equals("--help")) return true;
        }
        return false;
    }

    /** The full usage text of a command, or null if there is no such command. */
    private static String usage(String command) {
        return switch (command) {
            case "features" -> FEATURES_USAGE;
            case "run" -> RunCommand.USAGE;
            case "wait" -> WaitCommand.USAGE;
            default -> null;
        };
    }

    /** The "usage:" lines at the top of a command's usage text. */
    private static String synopsis(String command) {
        StringBuilder lines = new StringBuilder();
        for (String line : usage(command).split("\n")) {
            if (line.isEmpty()) break;
            lines.append(line).append('\n');
        }
        return lines.toString();
    }

    /** The project version the build wrote into version.properties. */
    static String version() {
        try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
            if (in == null) return "unknown (version.properties is missing)";
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version", "unknown");
        } catch (java.io.IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    static int features(String[] args, PrintStream out) {
        if (args.length > 0) throw new UsageException("takes no arguments, was given '" + String.join(" ", args) + "'");
        out.printf("fdkit   %s%n", version());
        out.printf("kernel  %s%n", Linux.kernelRelease());
        out.printf("glibc   %s%n", Linux.glibcVersion());
        out.printf("JDK     %s (%s)%n", Runtime.version(), System.getProperty("java.vm.vendor"));
        out.printf("arch    %s%n%n", System.getProperty("os.arch"));
        int width = Linux.features().stream().mapToInt(c -> c.feature().displayName().length()).max().orElse(10);
        out.printf("%-" + width + "s  %-9s  %s%n", "capability", "available", "cause");
        for (Capability c : Linux.features()) {
            out.printf("%-" + width + "s  %-9s  %s%n", c.feature().displayName(), c.available() ? "yes" : "no", c.cause());
        }
        return OK;
    }

    /**
     * Warns on {@code err} about names in the value of {@code -Dfdkit.disable} that match no feature, which
     * the probe would otherwise ignore silently. Matches as the probe does: comma-separated, trimmed, enum
     * name or display name, any case.
     */
    static void warnAboutUnknownFeatureNames(String disableProperty, PrintStream err) {
        List<String> unknown = unknownFeatureNames(disableProperty);
        if (unknown.isEmpty()) return;
        String known = Arrays.stream(Feature.values()).map(Feature::displayName).collect(Collectors.joining(", "));
        err.printf("fdkit: warning: -D%s=%s: no feature named %s (ignored); known names: %s (or the Feature enum names, any case)%n",
                Linux.DISABLE_PROPERTY, disableProperty,
                unknown.stream().map(n -> "'" + n + "'").collect(Collectors.joining(", ")), known);
    }

    /** The names in a {@code fdkit.disable} value that name no feature; blank entries are not names. */
    static List<String> unknownFeatureNames(String disableProperty) {
        List<String> unknown = new ArrayList<>();
        if (disableProperty == null) return unknown;
        for (String name : disableProperty.split(",")) {
            String n = name.trim();
            if (n.isEmpty()) continue;
            if (Feature.named(n).isEmpty()) unknown.add(n);
        }
        return unknown;
    }

    /** Bad command-line input: printed with the command's name and synopsis, exit status 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** Parses a whole number in [1, max], or throws a UsageException naming the argument and the rule. */
    static long positive(String what, String value, long max) {
        String rule = what + " must be a whole number from 1 to " + max;
        if (value.isEmpty() || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new UsageException(rule + ", was '" + value + "'");
        }
        long n = value.length() > 18 ? Long.MAX_VALUE : Long.parseLong(value);
        if (n < 1 || n > max) throw new UsageException(rule + ", was " + value);
        return n;
    }

    /** Parses seconds in [0, max], decimals allowed (0.2), or throws a UsageException naming the argument and the rule. */
    static Duration seconds(String what, String value, long max) {
        String rule = what + " must be a number of seconds from 0 to " + max + " (decimals allowed: 0.5)";
        if (!value.matches("[0-9]+(\\.[0-9]+)?")) throw new UsageException(rule + ", was '" + value + "'");
        BigDecimal seconds = new BigDecimal(value);
        if (seconds.compareTo(BigDecimal.valueOf(max)) > 0) throw new UsageException(rule + ", was " + value);
        return Duration.ofNanos(seconds.movePointRight(9).longValue()); // digits beyond nanoseconds dropped
    }
}
