package dev.fdkit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.File;
import java.lang.ProcessBuilder.Redirect;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static dev.fdkit.Fuzz.CALL_LIMIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Random spawns, opens, signals and waits on ProcessDescriptors, against a model of how each child ends:
 * {@code true}, {@code false} and {@code exit 7} by themselves, a sleeper only by a fatal signal. Signals are
 * drawn from a set that cannot stop a child or reach this JVM (a descriptor on this JVM's own pid is only
 * ever sent signal 0), plus numbers outside 0..64. No zombie and no descriptor is left behind.
 */
@Tag("fuzz")
@ExtendWith(ProcessWarmUp.class)
@ExtendWith(LeakGuard.class)
class ProcessDescriptorFuzzTest {
    /** Signals a child may get: none stops it (SIGSTOP, SIGTSTP...), all but 0 and SIGCONT end a sleeper. */
    private static final int[] SIGNALS = {0, 9, 15, 18, 10, 12, 34, 64, -1, 65, Integer.MIN_VALUE, Integer.MAX_VALUE};
    private static final String[][] COMMANDS = {{"true"}, {"false"}, {"sh", "-c", "exit 7"}, {"sleep", "60"}, {"sh", "-c", "kill -9 $$"},
            {"/nonexistent/program"}, {}, {"nul\0arg"}};

    private static final class Child {
        final ProcessDescriptor descriptor;
        final boolean foreign; // opened by pid (this JVM, or any process): signal 0 only, never waited for
        final boolean sleeper; // ends only by a signal, or close() (started with KILL_ON_CLOSE)
        boolean signalled; // sent a signal that ends it
        boolean closed;

        Child(ProcessDescriptor descriptor, boolean foreign, boolean sleeper) {
            this.descriptor = descriptor;
            this.foreign = foreign;
            this.sleeper = sleeper;
        }

        boolean ends() {
            return !foreign && (!sleeper || signalled || closed);
        }
    }

    private static final class State {
        final List<Child> children = new ArrayList<>();

        Child at(int index) {
            return children.isEmpty() ? null : children.get(index % children.size());
        }
    }

    @Test
    void randomCallSequencesKeepTheContractAndLeaveNoZombie() throws Exception {
        Fuzz.check("ProcessDescriptor", Math.max(5, Scale.fuzzTries() / 4), new Fuzz.Api<State>() {
            @Override
            public State start() {
                return new State();
            }

            @Override
            public Fuzz.Call<State> next(Random r) {
                int i = r.nextInt(3);
                int signal = SIGNALS[r.nextInt(SIGNALS.length)];
                Duration timeout = Fuzz.anyDuration(r);
                return switch (r.nextInt(9)) {
                    case 0, 1 -> {
                        String[] command = COMMANDS[r.nextInt(COMMANDS.length)];
                        boolean sleeper = command.length > 0 && command[0].equals("sleep");
                        boolean killOnClose = sleeper || r.nextBoolean();
                        boolean nullOption = r.nextInt(8) == 0;
                        boolean pipes = r.nextBoolean();
                        yield new Fuzz.Call<>("start(" + String.join(" ", command).replace("\0", "\\0") + (killOnClose ? ", KILL_ON_CLOSE" : "")
                                + (nullOption ? ", null" : "") + (pipes ? ", pipes" : "") + ")", List.of("builder", "command", "options"), s -> {
                            if (s.children.size() >= 4) return;
                            ProcessBuilder pb = new ProcessBuilder(command).redirectInput(Redirect.from(new File("/dev/null")));
                            if (!pipes) pb.redirectOutput(Redirect.DISCARD).redirectError(Redirect.DISCARD);
                            SpawnOption[] options = nullOption ? new SpawnOption[] {null} : killOnClose ? new SpawnOption[] {SpawnOption.KILL_ON_CLOSE} : new SpawnOption[0];
                            ProcessDescriptor p = ProcessDescriptor.start(pb, options); // IOException for a program that is not there
                            s.children.add(new Child(p, false, sleeper));
                            assertThat(p.isChild()).isTrue();
                            if (pipes && !sleeper) assertThat(Processes.readAll(p.stdout())).isEmpty(); // until EOF: the child has closed its end
                        });
                    }
                    case 2 -> {
                        long pid = r.nextBoolean() ? Fuzz.anyLong(r) : ProcessHandle.current().pid();
                        yield new Fuzz.Call<>("open(pid=" + pid + ")", List.of("pid"), s -> {
                            ProcessDescriptor p = ProcessDescriptor.open(pid); // ESRCH, or EPERM/ESRCH for what is not ours to see
                            s.children.add(new Child(p, true, true));
                            assertThat(p.isChild()).isFalse();
                        });
                    }
                    case 3 -> new Fuzz.Call<>("of(null)", List.of("handle"), s -> ProcessDescriptor.of(null));
                    case 4 -> on(i, "signal(signal=" + signal + ")", List.of("signal"), c -> {
                        if (c.closed) {
                            assertThatThrownBy(() -> c.descriptor.signal(signal)).isInstanceOfAny(IllegalStateException.class, IllegalArgumentException.class);
                            return;
                        }
                        if (c.foreign && signal != 0) return; // never this JVM or a process of someone else's
                        boolean sent = c.descriptor.signal(signal); // false once it has exited
                        if (sent && signal != 0 && signal != 18) c.signalled = true;
                        assertThat(signal).as("signal(%s) accepted", signal).isBetween(0, 64);
                    });
                    case 5 -> on(i, "waitFor(timeout=" + timeout + ")", List.of("timeout"), c -> {
                        boolean bad = timeout == null;
                        boolean noWait = !bad && timeout.isNegative(); // fdkit's rule for timeouts: returns at once
                        if (!bad && !noWait && !c.ends() && !Fuzz.endsSoon(timeout)) return; // runs until signalled
                        Optional<ExitStatus> status = c.descriptor.waitFor(c.ends() && !bad && !noWait ? CALL_LIMIT.dividedBy(2) : timeout);
                        if (c.ends() && !noWait) assertThat(status).as("exit of a child that ends").isPresent();
                    });
                    case 6 -> on(i, "onExit(), isAlive(), pid(), fd()", List.of(), c -> {
                        if (c.closed && !c.descriptor.isChild()) { // close() ended the watch: the future fails, saying so
                            CompletableFuture<ExitStatus> exit = c.descriptor.onExit();
                            assertThat(exit).isDone(); // its status if known before close(), else failed naming the close
                            if (exit.isCompletedExceptionally()) assertThatThrownBy(exit::join).hasMessageContaining("closed");
                        } else if (c.ends()) assertThat(c.descriptor.onExit().get(CALL_LIMIT.toMillis() / 2, TimeUnit.MILLISECONDS)).isNotNull();
                        if (c.closed && !c.descriptor.isChild() && c.descriptor.onExit().isCompletedExceptionally()) {
                            assertThatThrownBy(c.descriptor::isAlive).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
                        } else if (c.descriptor.pid() == ProcessHandle.current().pid()) assertThat(c.descriptor.isAlive()).isTrue();
                        assertThat(c.descriptor.pid()).isPositive();
                        assertThat(c.descriptor.fd()).isNotNegative(); // IllegalStateException once closed
                    });
                    case 7 -> on(i, "kill()", List.of(), c -> {
                        if (c.foreign) return;
                        if (c.descriptor.kill()) c.signalled = true;
                    });
                    default -> on(i, "close()", List.of(), c -> {
                        c.descriptor.close();
                        c.closed = true;
                    });
                };
            }

            @Override
            public void finish(State s) throws Exception {
                for (Child c : s.children) c.descriptor.close(); // sleepers have KILL_ON_CLOSE
                for (Child c : s.children) {
                    // a non-child's watch ends with close() (onExit fails then); our children are still reaped
                    if (c.descriptor.isChild()) assertThat(c.descriptor.onExit().get(CALL_LIMIT.toMillis() / 2, TimeUnit.MILLISECONDS)).isNotNull();
                }
                assertThat(Processes.zombieChildrenAfter(Duration.ofSeconds(2))).as("zombies").isEmpty();
            }
        });
    }

    /** A call on descriptor {@code index}, if there is one. */
    private static Fuzz.Call<State> on(int index, String label, List<String> arguments, Fuzz.Body<Child> body) {
        return new Fuzz.Call<>(label + " on #" + index, arguments, s -> {
            Child c = s.at(index);
            if (c == null) return;
            assertThat(c.descriptor.toString()).contains("pid=" + c.descriptor.pid()); // never throws, closed or not
            body.run(c);
        });
    }
}
