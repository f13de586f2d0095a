package dev.fdkit.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Where this JVM's own cgroup v2 directory is, and whether fdkit may create cgroups below it: the answer
 * behind {@code Feature.CGROUP_KILL}, read once from /proc/self/cgroup and /proc/self/mountinfo.
 */
public final class CgroupFs {
    private CgroupFs() {}

    /**
     * @param directory this JVM's cgroup v2 directory when fdkit can create cgroups below it, else null
     * @param cause     why not, or what was found
     */
    public record Probe(Path directory, String cause) {}

    public static Probe probe() {
        return Probed.RESULT;
    }

    private static final class Probed {
        static final Probe RESULT = look();
    }

    private static Probe look() {
        try {
            String own = null; // the unified hierarchy's line is "0::/path"
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                if (line.startsWith("0::")) own = line.substring(3);
            }
            if (own == null) return new Probe(null, "no cgroup v2 hierarchy: /proc/self/cgroup has no 0:: line");
            Path mount = null;
            String mountRoot = null;
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // id parent major:minor root mount-point options [optional...] - fstype source super-options
                List<String> fields = List.of(line.split(" "));
                int dash = fields.indexOf("-");
                if (dash > 0 && dash + 1 < fields.size() && fields.get(dash + 1).equals("cgroup2")) {
                    mountRoot = unescape(fields.get(3));
                    mount = Path.of(unescape(fields.get(4)));
                    break;
                }
            }
            if (mount == null) return new Probe(null, "cgroup2 is not mounted");
            if (own.endsWith(" (deleted)") || !own.startsWith(mountRoot)) {
                return new Probe(null, "this JVM's cgroup " + own + " is not below the mounted cgroup2 root " + mountRoot + " (" + mount + ")");
            }
            Path directory = mount.resolve(own.substring(mountRoot.length()).replaceFirst("^/+", ""));
            // The root cgroup has no cgroup.kill of its own (the kernel keeps it off the root); its children do.
            boolean root = own.equals(mountRoot);
            if (root ? !FeatureProbe.kernelAtLeast(5, 14) : !Files.exists(directory.resolve("cgroup.kill"))) {
                return new Probe(null, directory + " has no cgroup.kill: kernel " + FeatureProbe.kernelRelease() + " is older than 5.14");
            }
            if (!Files.isWritable(directory) || !Files.isWritable(directory.resolve("cgroup.procs"))) {
                return new Probe(null, directory + " (this JVM's cgroup) is not writable: not delegated to this user (systemd: Delegate=yes)");
            }
            return new Probe(directory, "cgroup v2 at " + directory + " (this JVM's cgroup) is writable and has cgroup.kill");
        } catch (IOException | RuntimeException e) {
            return new Probe(null, "cannot read /proc/self/cgroup or /proc/self/mountinfo: " + e);
        }
    }

    /** mountinfo escapes space, tab, newline and backslash as octal ({@code \040}). */
    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && i + 3 < field.length()) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
