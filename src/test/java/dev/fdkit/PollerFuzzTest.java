package dev.fdkit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Random call sequences on a Poller of one's own (driven by poll on the fuzz thread) with two EventFds as
 * targets, against a model of which registrations a poll must run: an active level-triggered one whose
 * condition holds, a one-shot one that has not fired since it was armed; never a cancelled one, one whose
 * target is closed, or any once the poller is closed.
 */
@Tag("fuzz")
@ExtendWith(LeakGuard.class)
class PollerFuzzTest {
    private static final int[] EVENTS = {Poller.READABLE, Poller.WRITABLE, Poller.READABLE | Poller.WRITABLE, Poller.HANGUP,
            Poller.READABLE | Poller.HANGUP, Poller.ERROR, 0, 16, -1, Integer.MIN_VALUE};

    private static final class Target {
        final EventFd eventFd = EventFd.open();
        long count;
        boolean closed;
    }

    private static final class Reg {
        final Poller.Registration registration;
        final Target target;
        final Poller.Trigger trigger;
        final AtomicInteger runs; // counted by its handler
        int events;
        boolean active = true;
        boolean armed = true; // ONE_SHOT: not fired since registered or re-armed

        Reg(Poller.Registration registration, Target target, Poller.Trigger trigger, int events, AtomicInteger runs) {
            this.registration = registration;
            this.target = target;
            this.trigger = trigger;
            this.events = events;
            this.runs = runs;
        }

        /** Whether its condition holds: an eventfd is readable while non-zero and writable below its maximum. */
        boolean ready() {
            return ((events & Poller.READABLE) != 0 && target.count != 0) || ((events & Poller.WRITABLE) != 0 && target.count != EventFd.MAX_COUNT);
        }
    }

    private static final class State {
        final Poller poller = Poller.open();
        final List<Target> targets = List.of(new Target(), new Target());
        final List<Reg> regs = new ArrayList<>();
        boolean closed;

        Reg reg(int index) {
            return regs.isEmpty() ? null : regs.get(index % regs.size());
        }

        long activeCount() {
            return regs.stream().filter(r -> r.active).count();
        }
    }

    @Test
    void randomCallSequencesKeepTheContractAndTheReadinessModel() throws Exception {
        Fuzz.check("Poller", new Fuzz.Api<State>() {
            @Override
            public State start() {
                return new State();
            }

            @Override
            public Fuzz.Call<State> next(Random r) {
                int i = r.nextInt(4);
                int events = r.nextInt(3) == 0 ? Fuzz.anyInt(r) : EVENTS[r.nextInt(EVENTS.length)];
                return switch (r.nextInt(12)) {
                    case 0, 1 -> register(r);
                    case 2, 3 -> {
                        Duration timeout = Fuzz.anyDuration(r);
                        yield new Fuzz.Call<>("poll(timeout=" + timeout + ")", List.of("timeout"), s -> poll(s, timeout));
                    }
                    case 4 -> new Fuzz.Call<>("rearm(events=0x" + Integer.toHexString(events) + ") of registration #" + i, List.of("events"), s -> {
                        Reg reg = s.reg(i);
                        if (reg == null) return;
                        boolean valid = events != 0 && (events & ~(Poller.READABLE | Poller.WRITABLE | Poller.HANGUP | Poller.ERROR)) == 0;
                        reg.registration.rearm(events); // IllegalArgumentException naming events, or IllegalStateException once cancelled
                        assertThat(valid && reg.active).as("rearm(0x%s) of %s returned", Integer.toHexString(events), reg.active ? "an active registration" : "a cancelled one").isTrue();
                        reg.events = events;
                        reg.armed = true;
                    });
                    case 5 -> new Fuzz.Call<>("rearm() of registration #" + i, List.of(), s -> {
                        Reg reg = s.reg(i);
                        if (reg == null) return;
                        reg.registration.rearm();
                        assertThat(reg.active).as("rearm() of a cancelled registration returned").isTrue();
                        reg.armed = true;
                    });
                    case 6 -> new Fuzz.Call<>("cancel() registration #" + i, List.of(), s -> {
                        Reg reg = s.reg(i);
                        if (reg == null) return;
                        reg.registration.cancel();
                        reg.active = false;
                        assertThat(reg.registration.isActive()).isFalse();
                    });
                    case 7 -> new Fuzz.Call<>("signal target #" + (i % 2), List.of(), s -> {
                        Target t = s.targets.get(i % 2);
                        if (t.closed) return;
                        long n = 1 + (long) i * (i == 3 ? Long.MAX_VALUE / 3 : 1);
                        if (t.eventFd.trySignal(n)) t.count += n;
                    });
                    case 8 -> new Fuzz.Call<>("read target #" + (i % 2), List.of(), s -> {
                        Target t = s.targets.get(i % 2);
                        if (t.closed) return;
                        assertThat(t.eventFd.tryReadValue()).isEqualTo(t.count);
                        t.count = 0;
                    });
                    case 9 -> new Fuzz.Call<>("close target #" + (i % 2), List.of(), s -> {
                        Target t = s.targets.get(i % 2);
                        t.eventFd.close();
                        t.closed = true;
                        for (Reg reg : s.regs) {
                            if (reg.target == t) {
                                reg.active = false; // closing a registered fdkit object cancels its registrations
                                assertThat(reg.registration.isActive()).isFalse();
                            }
                        }
                    });
                    case 10 -> new Fuzz.Call<>("close() the poller", List.of(), PollerFuzzTest::closePoller);
                    default -> new Fuzz.Call<>("wakeup(), registrations(), fd()", List.of(), s -> {
                        s.poller.wakeup();
                        assertThat(s.poller.registrations()).isEqualTo(s.closed ? 0 : s.activeCount());
                        int fd = s.poller.fd(); // IllegalStateException once closed
                        assertThat(s.closed).as("fd() of a closed poller returned %s", fd).isFalse();
                    });
                };
            }

            @Override
            public void finish(State s) {
                closePoller(s);
                for (Target t : s.targets) t.eventFd.close();
            }
        });
    }

    private static Fuzz.Call<State> register(Random r) {
        int which = r.nextInt(6);
        int events = r.nextInt(3) == 0 ? Fuzz.anyInt(r) : EVENTS[r.nextInt(EVENTS.length)];
        Poller.Trigger trigger = r.nextInt(8) == 0 ? null : Poller.Trigger.values()[r.nextInt(3)];
        boolean nullHandler = r.nextInt(10) == 0;
        String targetName = switch (which) {
            case 0, 1, 2 -> "target #" + (which % 2);
            case 3 -> "null";
            case 4 -> "a foreign Pollable with fd -1";
            default -> "a foreign Pollable with fd 1000000 (not open)";
        };
        return new Fuzz.Call<>("register(" + targetName + ", events=0x" + Integer.toHexString(events) + ", " + trigger + ", "
                + (nullHandler ? "null" : "handler") + ")", List.of("target", "events", "trigger", "handler"), s -> {
            Target t = which <= 2 ? s.targets.get(which % 2) : null;
            Pollable target = switch (which) {
                case 0, 1, 2 -> t.eventFd;
                case 3 -> null;
                case 4 -> () -> -1;
                default -> () -> 1_000_000;
            };
            AtomicInteger runs = new AtomicInteger();
            Poller.Handler handler = nullHandler ? null : (registration, ready) -> {
                assertThat(ready & ~(Poller.READABLE | Poller.WRITABLE | Poller.HANGUP | Poller.ERROR)).isZero();
                runs.incrementAndGet();
            };
            boolean validEvents = events != 0 && (events & ~(Poller.READABLE | Poller.WRITABLE | Poller.HANGUP | Poller.ERROR)) == 0;
            boolean already = s.regs.stream().anyMatch(reg -> reg.active && reg.target == t);
            Poller.Registration registration = s.poller.register(target, events, trigger, handler);
            // Returned: the model must agree that nothing was wrong (else a contract exception was due).
            assertThat(t != null && !t.closed && !already && validEvents && trigger != null && handler != null && !s.closed)
                    .as("register returned although the model expected an exception").isTrue();
            assertThat(registration.isActive()).isTrue();
            s.regs.add(new Reg(registration, t, trigger, events, runs));
        });
    }

    private static void poll(State s, Duration timeout) {
        if (!Fuzz.endsSoon(timeout)) s.poller.wakeup(); // then even a poll without a timeout returns at once
        int[] before = s.regs.stream().mapToInt(reg -> reg.runs.get()).toArray();
        int handled = s.poller.poll(timeout);
        int total = 0;
        for (int k = 0; k < s.regs.size(); k++) {
            Reg reg = s.regs.get(k);
            int ran = reg.runs.get() - before[k];
            total += ran;
            assertThat(ran).as("runs of %s in one poll", reg.registration).isLessThanOrEqualTo(1);
            boolean mayRun = !s.closed && reg.active && !(reg.trigger == Poller.Trigger.ONE_SHOT && !reg.armed);
            if (!mayRun) assertThat(ran).as("%s ran (active in the model: %s, armed: %s)", reg.registration, reg.active, reg.armed).isZero();
            boolean mustRun = mayRun && reg.ready() && reg.trigger != Poller.Trigger.EDGE;
            if (mustRun) assertThat(ran).as("%s, ready, did not run", reg.registration).isEqualTo(1);
            if (ran > 0 && reg.trigger == Poller.Trigger.ONE_SHOT) reg.armed = false;
        }
        assertThat(handled).as("poll's count of handlers run").isEqualTo(total);
    }

    private static void closePoller(State s) {
        s.poller.close();
        s.closed = true;
        for (Reg reg : s.regs) {
            reg.active = false;
            assertThat(reg.registration.isActive()).isFalse();
        }
        assertThat(s.poller.poll(Duration.ZERO)).isZero();
    }
}
