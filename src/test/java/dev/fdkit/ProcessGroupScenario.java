package dev.fdkit;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Runs in a JVM of its own (see {@link ProcessGroupTest}) and prints {@code key=value} lines:
 * <ul>
 *   <li>{@code group-fallback} (with {@code -Dfdkit.disable=PIDFD_SIGNAL_PROCESS_GROUP}): a child's tree is
 *       killed with kill(-pid); once the leader is reaped the group is refused; a non-child is unsupported;</li>
 *   <li>{@code kill-on-exit}: starts a KILL_ON_CLOSE sleeper and a plain one, prints their pids, and exits
 *       without closing either: the shutdown hook must kill the first only.</li>
 * </ul>
 */
final class ProcessGroupScenario {
    private ProcessGroupScenario() {}

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "group-fallback" -> groupFallback();
            case "kill-on-exit" -> killOnExit();
            default -> throw new IllegalArgumentException("unknown scenario " + args[0]);
        }
        System.out.flush();
        System.exit(0); // not closing anything: the kill-on-exit case depends on it
    }

    private static void groupFallback() throws Exception {
        System.out.println("feature=" + Linux.has(Feature.PIDFD_SIGNAL_PROCESS_GROUP));
        try (ProcessDescriptor p = ProcessGroupTest.treeOfThree()) {
            List<Long> members = Processes.groupMembers(p.pid());
            boolean sent = p.killProcessGroup();
            p.waitFor();
            boolean allGone = true;
            for (long m : members) allGone &= Processes.awaitGone(m);
            System.out.println("tree.killed=" + (sent && allGone));
        }
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", "-c", "sleep 600 >/dev/null & echo $!").redirectOutput(ProcessBuilder.Redirect.PIPE);
        try (ProcessDescriptor p = ProcessDescriptor.start(pb, SpawnOption.NEW_PROCESS_GROUP)) {
            long orphan = Long.parseLong(new String(p.stdout().readAllBytes(), StandardCharsets.UTF_8).strip());
            p.waitFor();
            System.out.println("after.reap=" + p.signalProcessGroup(0));
            ProcessHandle.of(orphan).ifPresent(ProcessHandle::destroyForcibly);
        }
        Process jdkChild = new ProcessBuilder("/bin/sleep", "600").start();
        try (ProcessDescriptor other = ProcessDescriptor.of(jdkChild.toHandle())) {
            other.signalProcessGroup(0);
            System.out.println("non.child=signalled");
        } catch (UnsupportedOperationException e) {
            System.out.println("non.child=UnsupportedOperationException");
        } finally {
            jdkChild.destroyForcibly().waitFor();
        }
    }

    private static void killOnExit() throws Exception {
        ProcessDescriptor killed = ProcessDescriptor.start(new ProcessBuilder("/bin/sleep", "600"), SpawnOption.KILL_ON_CLOSE);
        ProcessDescriptor kept = ProcessDescriptor.start(new ProcessBuilder("/bin/sleep", "600"));
        System.out.println("kill.on.close.pid=" + killed.pid());
        System.out.println("plain.pid=" + kept.pid());
    }
}
