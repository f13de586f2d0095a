package dev.fdkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes bench/REPORT.md from JMH's JSON result file, the C baselines' JSON lines and the same JSON lines
 * from Java main programs that JMH cannot express (bench/java-result.json; run by bin/bench):
 * the machine, then one table line per row and baseline with the ratio fdkit / baseline, its error, the
 * row's target and whether it is met, then every raw measurement.
 * <p>
 * Errors: JMH's score error (the 99.9% confidence half-width over all measurement iterations); for C, the
 * standard deviation over the program's runs. The ratio's error is propagated as for independent
 * quantities: r·sqrt((ea/a)² + (eb/b)²).
 * <p>
 * Usage: {@code Report [--jmh FILE] [--c FILE] [--java FILE] [--run FILE] [--out FILE] [--readme FILE]}
 * ({@code --readme}: also put the report's summary between that file's performance markers); the run file (bench/run.properties,
 * written by bin/bench) says how and when the results were measured: command, mode (quick|full), gcc,
 * load.before, load.after, finished, and c.interleaved and c.split (which C program ran around which Java side, and
 * how its runs were split).
 */
public final class Report {
    /** One measured figure: a JMH benchmark's primary score or a C program's best run. */
    record Measurement(String key, double score, double error, String unit, double allocPerOp, String settings,
                       double lowest, double highest, double cpu, double cpuError) {
        /** The best single iteration (JMH) or run (C): lowest for times, highest for throughputs. */
        double best(boolean lowerIsBetter) {
            return lowerIsBetter ? lowest : highest;
        }
    }

    public static void main(String[] args) throws IOException {
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) throw new IllegalArgumentException("expected --option value, got " + args[i]);
            options.put(args[i].substring(2), args[i + 1]);
        }
        Path jmhFile = Path.of(options.getOrDefault("jmh", "bench/jmh-result.json"));
        Path cFile = Path.of(options.getOrDefault("c", "bench/c-result.json"));
        Path javaFile = Path.of(options.getOrDefault("java", "bench/java-result.json"));
        Path out = Path.of(options.getOrDefault("out", "bench/REPORT.md"));
        Path runFile = Path.of(options.getOrDefault("run", "bench/run.properties"));
        Properties run = new Properties();
        if (Files.exists(runFile)) {
            try (var in = Files.newBufferedReader(runFile)) {
                run.load(in);
            }
        }

        List<Object> jmh = Files.exists(jmhFile) ? Json.array(Json.parse(Files.readString(jmhFile))) : List.of();
        Map<String, Measurement> measurements = new LinkedHashMap<>();
        for (Object o : jmh) {
            Measurement m = fromJmh(Json.object(o));
            measurements.put(m.key(), m);
        }
        if (Files.exists(cFile)) {
            for (Object o : Json.array(Json.parse(Files.readString(cFile)))) {
                Measurement m = fromC("c:", Json.object(o));
                measurements.put(m.key(), m);
            }
        }
        if (Files.exists(javaFile)) { // Java main programs (not JMH) printing the C baselines' JSON lines
            for (Object o : Json.array(Json.parse(Files.readString(javaFile)))) {
                Measurement m = fromC("java:", Json.object(o));
                measurements.put(m.key(), m);
            }
        }

        Map<String, Object> firstJmh = jmh.isEmpty() ? Map.of() : Json.object(jmh.get(0));
        Rendered report = render(run, firstJmh, measurements, jmhFile, cFile, javaFile);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, report.markdown());
        System.out.println("wrote " + out);
        if (options.containsKey("readme")) updateReadme(Path.of(options.get("readme")), report.summary());
    }

    private static Measurement fromJmh(Map<String, Object> result) {
        Map<String, Object> primary = Json.object(result.get("primaryMetric"));
        Map<String, Object> secondary = Json.object(result.get("secondaryMetrics"));
        Map<String, Object> alloc = Json.object(secondary.get("gc.alloc.rate.norm"));
        Map<String, Object> cpu = Json.object(secondary.get("cpu.time.norm"));
        String settings = String.format(Locale.ROOT, "%s, %.0f fork(s) × %.0f × %s after %.0f × %s warm-up",
                result.get("mode"), Json.number(result.get("forks")), Json.number(result.get("measurementIterations")),
                result.get("measurementTime"), Json.number(result.get("warmupIterations")), result.get("warmupTime"));
        List<Double> iterations = Json.array(primary.get("rawData")).stream()
                .flatMap(fork -> Json.array(fork).stream()).map(Json::number).toList();
        // The median iteration, as for C's runs below: the same statistic on both sides of a ratio
        return new Measurement("jmh:" + result.get("benchmark"), iterations.isEmpty() ? Json.number(primary.get("score")) : median(iterations),
                Json.number(primary.get("scoreError")), String.valueOf(primary.get("scoreUnit")),
                alloc.isEmpty() ? Double.NaN : Json.number(alloc.get("score")), settings,
                min(iterations), max(iterations),
                cpu.isEmpty() ? Double.NaN : Json.number(cpu.get("score")), cpu.isEmpty() ? Double.NaN : Json.number(cpu.get("scoreError")));
    }

    /** A JSON line of a C baseline ("c:") or of a Java main program ("java:"); an optional "settings" string replaces "best of N runs". */
    private static Measurement fromC(String prefix, Map<String, Object> result) {
        List<Object> runs = Json.array(result.get("runs"));
        List<Double> values = runs.stream().map(Json::number).toList();
        String settings = result.get("settings") instanceof String text ? text
                : "median of " + runs.size() + " runs, best " + fmt(Json.number(result.get("score")));
        return new Measurement(prefix + result.get("name"), values.isEmpty() ? Json.number(result.get("score")) : median(values), Json.number(result.get("error")),
                String.valueOf(result.get("unit")), Double.NaN, settings,
                min(values), max(values), Json.number(result.get("cpu")), stdev(Json.array(result.get("cpu_runs"))));
    }

    static double stdev(List<Object> runs) {
        double[] v = runs.stream().mapToDouble(Json::number).toArray();
        if (v.length < 2) return Double.NaN;
        double mean = java.util.Arrays.stream(v).average().orElse(Double.NaN), sq = 0;
        for (double x : v) sq += (x - mean) * (x - mean);
        return Math.sqrt(sq / (v.length - 1));
    }

    private static double median(List<Double> values) {
        double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /**
     * Met only when the whole interval {@code value ± error} meets the target, not met when none of it does,
     * and undecided when the noise straddles the target: a ratio of 1.12 ± 0.83 proves nothing either way.
     */
    private static String verdict(Rows.Target target, double value, double error) {
        boolean low = target.met(value - error), high = target.met(value + error);
        return low && high ? "**met**" : !low && !high ? "**not met**" : "undecided (noise)";
    }

    static double min(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
    }

    static double max(List<Double> values) {
        return values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
    }

    // ---------------------------------------------------------------------------------------- Markdown

    /** The whole report, and its summary section's text (what README quotes). */
    private record Rendered(String markdown, String summary) {}

    private static Rendered render(Properties run, Map<String, Object> jmhInfo,
                                 Map<String, Measurement> measurements, Path jmhFile, Path cFile, Path javaFile) {
        StringBuilder md = new StringBuilder();
        String now = ZonedDateTime.now().format(DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z"));
        String date = run.getProperty("finished", now);
        String mode = run.getProperty("mode", "full");
        md.append("# fdkit benchmark report\n\n");
        md.append("Measured ").append(date).append(" by `").append(run.getProperty("command", "bin/bench")).append("` (")
                .append(mode).append(" mode").append("quick".equals(mode) ? ": short runs, wide error bars, not for quoting" : "")
                .append(")").append(date.equals(now) ? "" : "; report written " + now)
                .append(". Raw data: `").append(jmhFile).append("` (JMH), `").append(cFile).append("` (C baselines) and `").append(javaFile)
                .append("` (Java main programs: measurements JMH cannot make).\n\n");

        md.append("## Machine\n\n");
        md.append("- **Machine:** ").append(machineLine(jmhInfo)).append('\n');
        md.append("- CPU: ").append(cpu()).append('\n');
        md.append("- Kernel: ").append(read("/proc/sys/kernel/osrelease")).append('\n');
        md.append("- Mitigations (/sys/devices/system/cpu/vulnerabilities): ").append(mitigations()).append('\n');
        md.append("- JDK: ").append(jdk(jmhInfo)).append("; JMH ").append(jmhInfo.getOrDefault("jmhVersion", "?"))
                .append(", JVM options `").append(jvmArgs(jmhInfo)).append("`\n");
        if (run.containsKey("gcc")) md.append("- C baselines: ").append(run.getProperty("gcc")).append(", `-O2 -pthread`\n");
        if (run.containsKey("load.before")) {
            md.append("- Load average (/proc/loadavg, 1/5/15 min) before the run: ").append(run.getProperty("load.before"))
                    .append(run.containsKey("load.after") ? "; after: " + run.getProperty("load.after") : "")
                    .append(" — the benchmarks themselves keep about one CPU busy; more means other work shared the machine\n");
        }
        md.append("- Date: ").append(date).append("\n\n");

        StringBuilder summary = new StringBuilder();
        summary.append("| Row | fdkit | Baseline | fdkit / baseline | Target | Met |\n|---|---|---|---|---|---|\n");
        int summaryAt = md.length();
        md.append("## Results\n\n");
        md.append("fdkit / baseline below 1 means fdkit is faster (for times). Scores: the median JMH iteration and the ")
                .append("median C run, the same statistic on both sides. Errors: JMH's 99.9% confidence half-width; ")
                .append("C: standard deviation over its runs; ratios: propagated, r·√((ea/a)² + (eb/b)²). \"Met\" only when ")
                .append("the whole interval r ± e meets the target, \"not met\" when none of it does, \"undecided (noise)\" ")
                .append("when the noise straddles it. \"Best / best\" ")
                .append("divides fdkit's best JMH iteration by the baseline's best iteration or run: like with like, and ")
                .append("less sensitive to other load on the machine. \"CPU\": thread CPU time (user + system) per op — ")
                .append("JMH's worker threads plus fdkit's own (the poller: work moved there still counts; dev.fdkit.bench.CpuTimeProfiler) and the C loop's thread (CLOCK_THREAD_CPUTIME_ID, ")
                .append("best run) — which does not count time other processes held the CPU; on a quiet machine it is ")
                .append("close to the wall time. ").append(interleaving(run)).append("\n\n");
        md.append("| Row | fdkit | Baseline | Baseline score | fdkit / baseline | Best / best | CPU: fdkit / baseline | Target | Met |\n");
        md.append("|---|---|---|---|---|---|---|---|---|\n");
        Set<String> used = new HashSet<>();
        List<Rows.Row> missed = new ArrayList<>();
        for (Rows.Row row : Rows.ALL) {
            Measurement f = measurements.get(row.fdkit());
            used.add(row.fdkit());
            boolean first = true;
            for (Rows.Baseline b : row.baselines()) {
                used.add(b.key());
                Measurement m = measurements.get(b.key());
                boolean absolute = row.target() != null && row.target().absolute(); // a bound on fdkit's score: judged on the first line
                boolean targeted = row.target() != null && (absolute ? first : row.target().baseline().equals(b.key()));
                boolean lowerIsBetter = row.target() != null ? row.target().atMost() : f == null || !Results.higherIsBetter(f.unit()); // untargeted: by the unit
                String ratio = "not run", best = "not run", cpuRatio = "not run", met = targeted ? "not run" : "—";
                if (f != null && m != null) {
                    if (!f.unit().equals(m.unit())) {
                        ratio = "units differ";
                    } else {
                        double r = f.score() / m.score();
                        double e = r * Math.hypot(f.error() / f.score(), m.error() / m.score());
                        ratio = fmtRatio(r) + " ± " + fmtRatio(e);
                        best = fmtRatio(f.best(lowerIsBetter) / m.best(lowerIsBetter));
                        double c = f.cpu() / m.cpu();
                        cpuRatio = Double.isNaN(c) ? "—" : fmtRatio(c) + " ± " + fmtRatio(c * Math.hypot(f.cpuError() / f.cpu(), m.cpuError() / m.cpu()));
                        if (targeted && !absolute) {
                            met = verdict(row.target(), r, e);
                            if (!met.equals("**met**")) missed.add(row);
                        }
                    }
                }
                if (targeted && absolute && f != null) {
                    met = verdict(row.target(), f.score(), f.error());
                    if (!met.equals("**met**")) missed.add(row);
                }
                boolean headline = row.target() == null ? first : targeted;
                if (headline) {
                    summary.append("| ").append(row.title()).append(" | ").append(shortScore(f)).append(" | ").append(b.label())
                            .append(": ").append(shortScore(m)).append(" | ").append(ratio)
                            .append(" | ").append(targeted ? row.target().text() : "—").append(" | ").append(met).append(" |\n");
                }
                md.append("| ").append(first ? row.title() : "")
                        .append(" | ").append(first ? score(f) : "")
                        .append(" | ").append(b.label())
                        .append(" | ").append(score(m))
                        .append(" | ").append(ratio)
                        .append(" | ").append(best)
                        .append(" | ").append(cpuRatio)
                        .append(" | ").append(targeted ? row.target().text() : "—")
                        .append(" | ").append(met).append(" |\n");
                first = false;
            }
        }

        String summaryText = "Measured " + date + " by `" + run.getProperty("command", "bin/bench") + "` (" + mode + " mode) on: "
                + machineLine(jmhInfo) + loadNote(run) + ". One line per row: its target's baseline, or its first. "
                + "Errors: 99.9% confidence (JMH) or standard deviation (C), propagated into the ratio.\n\n" + summary;
        md.insert(summaryAt, "## Summary\n\n" + summaryText + "\n");

        md.append("\n## Rows\n");
        for (Rows.Row row : Rows.ALL) {
            md.append("\n### ").append(row.title()).append("\n\n");
            if (!row.notes().isBlank()) md.append(row.notes().strip()).append("\n\n");
            Measurement f = measurements.get(row.fdkit());
            if (!row.diagnostics().isEmpty()) {
                md.append("Diagnostics:\n\n");
                for (String key : row.diagnostics()) {
                    used.add(key);
                    md.append("- `").append(key).append("`: ").append(score(measurements.get(key))).append('\n');
                }
                md.append('\n');
            }
            if (f != null && !Double.isNaN(f.allocPerOp())) {
                md.append("fdkit allocates ").append(fmt(f.allocPerOp())).append(" B/op (JMH `-prof gc`, gc.alloc.rate.norm).\n\n");
            }
            if (missed.contains(row)) {
                md.append("**Target missed.** Where the time goes: the raw FFM baselines above give the cost of the downcalls ")
                        .append("themselves, the allocation figure rules garbage in or out; for more, run the row's benchmark ")
                        .append("with a profiler: `bin/bench --only <Benchmark> -- -prof perfnorm` (needs hardware counters; ")
                        .append("in a VM without them `-prof stack` or `-prof jfr`).\n\n");
            }
        }

        md.append("## All measurements\n\n");
        md.append("| Measurement | Score | Alloc B/op | Settings |\n|---|---|---|---|\n");
        for (Measurement m : measurements.values()) {
            md.append("| `").append(m.key()).append("`").append(used.contains(m.key()) ? "" : " (in no row)")
                    .append(" | ").append(score(m))
                    .append(" | ").append(Double.isNaN(m.allocPerOp()) ? "—" : fmt(m.allocPerOp()))
                    .append(" | ").append(m.settings()).append(" |\n");
        }
        return new Rendered(md.toString(), summaryText);
    }

    /** When the C baselines ran relative to the Java side: bin/bench records it in run.properties (c.interleaved, c.split). */
    private static String interleaving(Properties run) {
        String pairs = run.getProperty("c.interleaved");
        if (pairs == null) {
            return "These C baselines were all measured before the Java side (an older bin/bench), so a ratio may compare "
                    + "two periods of the machine's speed, which drifts.";
        }
        return "Each C baseline is measured in the same period as the Java side it is compared with, since the machine's "
                + "speed drifts over a run: its program takes part of its runs just before the JMH benchmark class or Java "
                + "main program of its rows and the rest just after (" + run.getProperty("c.split", "?") + " per variant), and "
                + "the parts are merged into one figure over all runs (dev.fdkit.bench.Results). "
                + (pairs.isEmpty() ? "In this run no C program ran beside its Java side." : "In this run: " + pairs + ".");
    }

    private static String loadNote(Properties run) {
        if (!run.containsKey("load.before")) return "";
        return " (load average " + run.getProperty("load.before").split(" ")[0] + " before, "
                + run.getProperty("load.after", "?").split(" ")[0] + " after)";
    }

    /**
     * Replaces what stands between README's two performance markers with the summary, so that README quotes
     * the latest full report and nothing else.
     */
    private static void updateReadme(Path readme, String summary) throws IOException {
        String text = Files.readString(readme);
        int begin = text.indexOf(README_BEGIN);
        int end = text.indexOf(README_END);
        if (begin < 0 || end < begin) throw new IllegalStateException(readme + " lacks the markers " + README_BEGIN + " ... " + README_END);
        Files.writeString(readme, text.substring(0, begin + README_BEGIN.length()) + "\n" + summary + text.substring(end));
        System.out.println("updated " + readme);
    }

    private static final String README_BEGIN = "<!-- performance summary: written by bin/bench from bench/REPORT.md -->";
    private static final String README_END = "<!-- end of performance summary -->";

    private static String shortScore(Measurement m) {
        return m == null ? "not run" : fmt(m.score()) + " ± " + (Double.isNaN(m.error()) ? "?" : fmt(m.error())) + " " + m.unit();
    }

    private static String score(Measurement m) {
        if (m == null) return "not run";
        return fmt(m.score()) + " ± " + (Double.isNaN(m.error()) ? "?" : fmt(m.error())) + " " + m.unit()
                + (Double.isNaN(m.cpu()) ? "" : " (CPU " + cpu(m) + ")");
    }

    /** Thread CPU time per op (measured in ns) in the score's own time unit, or in ns/op for throughputs. */
    private static String cpu(Measurement m) {
        String unit = m.unit().endsWith("/op") ? m.unit() : "ns/op";
        double nanosPerUnit = switch (unit) {
            case "us/op" -> 1e3;
            case "ms/op" -> 1e6;
            case "s/op" -> 1e9;
            default -> { unit = "ns/op"; yield 1; }
        };
        return fmt(m.cpu() / nanosPerUnit) + " ± " + fmt(m.cpuError() / nanosPerUnit) + (unit.equals(m.unit()) ? "" : " " + unit);
    }

    private static String fmt(double v) {
        if (Double.isNaN(v)) return "?";
        double a = Math.abs(v);
        return String.format(Locale.ROOT, a >= 100 ? "%.1f" : a >= 10 ? "%.2f" : "%.3f", v);
    }

    private static String fmtRatio(double v) {
        return Double.isNaN(v) ? "?" : String.format(Locale.ROOT, "%.3f", v);
    }

    // ---------------------------------------------------------------------------------------- the machine

    /** One line to quote with any figure from this report (README's performance table copies it). */
    private static String machineLine(Map<String, Object> jmhInfo) {
        return cpuModel() + ", " + Runtime.getRuntime().availableProcessors() + " CPUs, Linux "
                + read("/proc/sys/kernel/osrelease") + ", JDK " + jmhInfo.getOrDefault("jdkVersion", Runtime.version().toString());
    }

    private static String cpuModel() {
        return cpuinfo().stream().filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).strip())
                .findFirst().orElse(System.getProperty("os.arch"));
    }

    private static String cpu() {
        List<String> lines = cpuinfo();
        long logical = lines.stream().filter(l -> l.startsWith("processor")).count();
        Set<String> cores = new HashSet<>();
        String physical = "";
        for (String l : lines) {
            if (l.startsWith("physical id")) physical = l.substring(l.indexOf(':') + 1).strip();
            if (l.startsWith("core id")) cores.add(physical + "/" + l.substring(l.indexOf(':') + 1).strip());
        }
        String flags = lines.stream().filter(l -> l.startsWith("flags")).findFirst().orElse("");
        return cpuModel() + "; " + logical + " logical CPUs, " + (cores.isEmpty() ? "?" : cores.size()) + " cores"
                + (flags.contains(" hypervisor") ? " (virtual machine)" : "");
    }

    private static List<String> cpuinfo() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo"));
        } catch (IOException e) {
            return List.of();
        }
    }

    /** Each vulnerability the kernel reports as anything but "Not affected", then the count of the rest. */
    private static String mitigations() {
        Path dir = Path.of("/sys/devices/system/cpu/vulnerabilities");
        List<String> affected = new ArrayList<>();
        int notAffected = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.sorted().toList()) {
                String state = read(p.toString());
                if (state.equals("Not affected")) notAffected++;
                else affected.add(p.getFileName() + ": " + state);
            }
        } catch (IOException e) {
            return "unknown (" + dir + " unreadable)";
        }
        return (affected.isEmpty() ? "" : String.join("; ", affected) + "; ") + notAffected + " others not affected";
    }

    private static String jdk(Map<String, Object> jmhInfo) {
        if (jmhInfo.isEmpty()) return Runtime.version() + " (the report's JVM; no JMH results)";
        return jmhInfo.get("jdkVersion") + " (" + jmhInfo.get("vmName") + " " + jmhInfo.get("vmVersion") + ")";
    }

    private static String jvmArgs(Map<String, Object> jmhInfo) {
        return String.join(" ", Json.array(jmhInfo.get("jvmArgs")).stream().map(String::valueOf).toList());
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file)).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
