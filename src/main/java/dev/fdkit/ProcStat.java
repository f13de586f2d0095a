package dev.fdkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Fields of /proc/PID/stat, read where no syscall tells them (state, parent, start time). */
final class ProcStat {
    private ProcStat() {}

    /**
     * Field {@code n} (numbered as in proc(5): 3 is the state, 4 the parent, 22 the start time), or null once the
     * process is gone. The command name (field 2) may hold spaces and parentheses: fields are counted after its
     * last ')'.
     */
    static String field(int pid, int n) {
        if (n < 3) throw new IllegalArgumentException("n must be 3 or more (fields after the command name), was " + n);
        String stat;
        try {
            stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        } catch (IOException gone) { // NoSuchFileException, or ESRCH while reading
            return null;
        }
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return n - 3 < fields.length ? fields[n - 3] : null;
    }
}
