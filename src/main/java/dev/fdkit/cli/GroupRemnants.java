package dev.fdkit.cli;

import dev.fdkit.Poller;
import dev.fdkit.ProcessDescriptor;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The live processes left in process groups whose leaders have exited (a shell's background job that ignores
 * the SIGINT which ended the shell): found in /proc, then watched through pidfds on the shared poller until they
 * exit. Only watched, never signalled through these pidfds: a pid found in /proc may be reused before it is
 * opened, so a wrong guess costs at most a wait, and signals go to the group through its leader's pidfd.
 */
final class GroupRemnants implements AutoCloseable {
    private final List<ProcessDescriptor> processes = new ArrayList<>();
    private final List<Poller.Registration> registrations = new ArrayList<>();
    private final AtomicInteger running = new AtomicInteger();

    private GroupRemnants() {}

    /** Watches the live processes now in {@code groups}; {@code onExit} runs on the poller thread as each exits. */
    static GroupRemnants watch(Set<Long> groups, Runnable onExit) throws IOException {
        GroupRemnants remnants = new GroupRemnants();
        try {
            for (long pid : liveMembers(groups)) {
                ProcessDescriptor p;
                try {
                    p = ProcessDescriptor.open(pid);
                } catch (IOException e) {
                    continue; // gone since the scan
                }
                remnants.processes.add(p);
                if (!groups.contains(groupOf(pid))) continue; // pid reused since the scan, or already gone
                remnants.running.incrementAndGet();
                remnants.registrations.add(Poller.shared().register(p, Poller.READABLE, Poller.Trigger.ONE_SHOT, (r, events) -> {
                    remnants.running.decrementAndGet(); // a pidfd is readable once its process has exited
                    onExit.run();
                }));
            }
        } catch (IOException | RuntimeException e) {
            remnants.close();
            throw e;
        }
        return remnants;
    }

    /** True if no live process was found. */
    boolean isEmpty() {
        return registrations.isEmpty();
    }

    boolean allExited() {
        return running.get() == 0;
    }

    @Override
    public void close() {
        registrations.forEach(Poller.Registration::cancel);
        processes.forEach(ProcessDescriptor::close);
    }

    /** Processes of {@code groups} that have not exited (zombies left out: they wait for their parent, not for us). */
    private static List<Long> liveMembers(Set<Long> groups) throws IOException {
        List<Long> members = new ArrayList<>();
        try (DirectoryStream<Path> proc = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path p : proc) {
                long pid = Long.parseLong(p.getFileName().toString());
                String[] stat = stat(pid);
                if (stat != null && !stat[0].equals("Z") && !stat[0].equals("X") && groups.contains(Long.parseLong(stat[2]))) members.add(pid);
            }
        }
        return members;
    }

    private static long groupOf(long pid) {
        String[] stat = stat(pid);
        return stat == null ? -1 : Long.parseLong(stat[2]);
    }

    /** /proc/PID/stat from field 3 on (state, ppid, pgrp...), split after "(comm)", which may hold spaces; null if gone. */
    private static String[] stat(long pid) {
        try {
            String text = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            return text.substring(text.lastIndexOf(')') + 2).split(" ");
        } catch (IOException e) {
            return null; // exited since the directory was listed
        }
    }
}
