package dev.fdkit.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes bin/bench's result files from what the run's programs printed (bin/bench needs no other tool for it):
 * <ul>
 *   <li>{@code lines OUT IN}: IN holds the JSON lines of the C baselines, or of the Java main programs, one object
 *       a line; OUT becomes a JSON array of them, one a line, in the order their names first appear. Lines of the
 *       same "name" become one: bin/bench runs each C program in two parts, just before and just after the Java
 *       side it is compared with. The merged line has all runs (and "cpu_runs") of the parts, and "score",
 *       "error", "mean" and "cpu" computed over all of them as bench_c.h computes them for one invocation: the
 *       best run, the standard deviation, the mean, the lowest CPU time.</li>
 *   <li>{@code arrays OUT IN...}: the JSON arrays of several JMH invocations as one array in OUT.</li>
 * </ul>
 * OUT is replaced only by text that parses as JSON.
 */
public final class Results {
    private Results() {}

    public static void main(String[] args) throws IOException {
        boolean lines = args.length == 3 && args[0].equals("lines");
        if (!lines && !(args.length >= 2 && args[0].equals("arrays"))) {
            throw new IllegalArgumentException("usage: Results lines OUT IN | Results arrays OUT IN...; got " + Arrays.toString(args));
        }
        Path out = Path.of(args[1]);
        List<Path> in = Arrays.stream(args, 2, args.length).map(Path::of).toList();
        String text = lines ? lines(Files.readAllLines(in.get(0))) : arrays(in);
        Json.parse(text);
        Path tmp = out.resolveSibling(out.getFileName() + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** A throughput (ops/s, ops/us): its best run is the highest; anything else (a time, a count) the lowest. */
    static boolean higherIsBetter(String unit) {
        return unit.startsWith("ops/");
    }

    static String lines(List<String> lines) {
        Map<String, List<String>> byName = new LinkedHashMap<>();
        for (String line : lines) {
            if (line.isBlank()) continue;
            if (!(Json.parse(line) instanceof Map<?, ?> object)) throw new IllegalArgumentException("not a JSON object: " + line);
            byName.computeIfAbsent(String.valueOf(object.get("name")), name -> new ArrayList<>()).add(line.strip());
        }
        List<String> merged = byName.values().stream()
                .map(parts -> parts.size() == 1 ? parts.get(0) : Json.write(merge(parts.stream().map(p -> Json.object(Json.parse(p))).toList())))
                .toList();
        return array(merged);
    }

    /** The parts of one measurement as one line; a part's "settings" text described that part alone, and is dropped. */
    static Map<String, Object> merge(List<Map<String, Object>> parts) {
        Map<String, Object> merged = new LinkedHashMap<>(parts.get(0));
        String unit = String.valueOf(merged.get("unit"));
        for (Map<String, Object> part : parts) {
            if (!unit.equals(String.valueOf(part.get("unit")))) throw new IllegalArgumentException("parts of " + merged.get("name") + " in different units");
        }
        List<Object> runs = concat(parts, "runs");
        List<Double> values = runs.stream().map(Json::number).toList();
        merged.put("score", higherIsBetter(unit) ? Report.max(values) : Report.min(values));
        merged.put("error", runs.size() > 1 ? Report.stdev(runs) : 0.0);
        merged.put("mean", values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN));
        merged.put("runs", runs);
        if (merged.containsKey("cpu_runs")) {
            List<Object> cpuRuns = concat(parts, "cpu_runs");
            merged.put("cpu", Report.min(cpuRuns.stream().map(Json::number).toList()));
            merged.put("cpu_runs", cpuRuns);
        }
        merged.remove("settings");
        return merged;
    }

    private static List<Object> concat(List<Map<String, Object>> parts, String key) {
        return parts.stream().flatMap(part -> Json.array(part.get(key)).stream()).toList();
    }

    /** JMH's arrays joined as text, so that its own formatting stays. */
    static String arrays(List<Path> files) throws IOException {
        List<String> elements = new ArrayList<>();
        for (Path file : files) {
            String text = Files.readString(file).strip();
            if (!(Json.parse(text) instanceof List<?>)) throw new IllegalArgumentException(file + ": not a JSON array");
            String inside = text.substring(1, text.length() - 1).strip();
            if (!inside.isEmpty()) elements.add(inside);
        }
        return array(elements);
    }

    /** One element a line, as bin/bench has always written these files. */
    private static String array(List<String> elements) {
        return elements.isEmpty() ? "[\n]\n" : "[\n" + String.join(",\n", elements) + "\n]\n";
    }
}
