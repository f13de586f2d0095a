package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static dev.fdkit.Processes.awaitGone;
import static dev.fdkit.Processes.groupMembers;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** ProcessSet against real children: every exit exactly once, the descriptor readable exactly while one is pending. */
@ExtendWith(ProcessWarmUp.class) // before LeakGuard: JVM-lifetime threads and descriptors are baseline
@ExtendWith(LeakGuard.class)
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ProcessSetTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    /** A shell that exits (status 1) once its stdin is closed: its exit happens when the test says. */
    private static ProcessDescriptor startBlocked(ProcessSet set) throws IOException {
        return set.start(new ProcessBuilder("sh", "-c", "read x").redirectOutput(Redirect.DISCARD).redirectError(Redirect.INHERIT));
    }

    private static ProcessBuilder exiting(int code) {
        return new ProcessBuilder("sh", "-c", "exit " + code).redirectInput(Redirect.INHERIT).redirectOutput(Redirect.DISCARD).redirectError(Redirect.INHERIT);
    }

    /** Waits, bounded, until {@code n} exits are queued (the set learns of them on the poller thread). */
    private static void awaitPending(ProcessSet set, int n) throws InterruptedException {
        if (!Processes.awaitCondition(WAIT, () -> set.pending() >= n)) throw new AssertionError("not " + n + " exits pending within " + WAIT + ": " + set);
    }

    @Test
    void aHundredChildrenWithDistinctExitCodesAreEachReportedExactlyOnce() throws Exception {
        try (ProcessSet set = ProcessSet.open()) {
            Set<Long> pids = new HashSet<>();
            for (int code = 0; code < 100; code++) pids.add(set.start(exiting(code)).pid());
            assertThat(set.size()).isEqualTo(100);
            List<Integer> codes = new ArrayList<>();
            Set<Long> reported = new HashSet<>();
            for (int i = 0; i < 100; i++) {
                ProcessSet.ExitEvent event = set.awaitAny(WAIT).orElseThrow(() -> new AssertionError("no exit within " + WAIT + ": " + set));
                try (ProcessDescriptor p = event.process()) {
                    assertThat(event.status().kind()).isEqualTo(ExitStatus.Kind.EXITED);
                    codes.add(event.status().code());
                    assertThat(event.status().code()).isEqualTo(p.onExit().join().code()); // the status of that very process
                    reported.add(p.pid());
                }
            }
            assertThat(codes).containsExactlyInAnyOrderElementsOf(java.util.stream.IntStream.range(0, 100).boxed().toList());
            assertThat(reported).isEqualTo(pids);
            assertThat(set.size()).isZero();
            assertThat(set.members()).isEmpty();
            assertThat(set.poll()).isEmpty();
            assertThat(set.awaitAny(Duration.ofMillis(20))).isEmpty(); // none reported twice
        }
    }

    @Test
    void itsDescriptorIsReadableExactlyWhileAnExitIsPending() throws Exception {
        try (ProcessSet set = ProcessSet.open(); Poller host = Poller.open()) {
            host.register(set, Poller.READABLE, (r, events) -> { });
            ProcessDescriptor a = startBlocked(set);
            ProcessDescriptor b = startBlocked(set);
            assertThat(host.poll(Duration.ZERO)).as("nothing pending").isZero();

            a.stdin().close();
            assertThat(host.poll(WAIT)).as("readable once a has exited").isEqualTo(1);
            assertThat(host.poll(Duration.ZERO)).as("still readable: not taken yet").isEqualTo(1);
            ProcessSet.ExitEvent first = set.poll().orElseThrow();
            assertThat(first.process()).isSameAs(a);
            assertThat(host.poll(Duration.ZERO)).as("not readable once taken").isZero();
            assertThat(set.poll()).isEmpty();

            b.stdin().close();
            ProcessDescriptor c = set.start(exiting(3));
            awaitPending(set, 2);
            assertThat(host.poll(Duration.ZERO)).isEqualTo(1);
            set.poll().orElseThrow().process().close();
            assertThat(host.poll(Duration.ZERO)).as("readable while the second is pending").isEqualTo(1);
            set.poll().orElseThrow().process().close();
            assertThat(host.poll(Duration.ZERO)).isZero();
            a.close();
            assertThat(c.onExit().join().code()).isEqualTo(3);
        }
    }

    @Test
    void closingTheSetCancelsItsRegistrations() {
        Poller host = Poller.open();
        try (host) {
            ProcessSet set = ProcessSet.open();
            Poller.Registration r = host.register(set, Poller.READABLE, (reg, events) -> { });
            set.close();
            assertThat(r.isActive()).isFalse();
            assertThat(host.registrations()).isZero();
            assertThatThrownBy(set::fd).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        }
    }

    @Test
    void closingTheSetWhileAHostLoopHandlerUsesItDoesNotDeadlock() throws Exception {
        Poller host = Poller.open(); // closed only once the handler has returned: a deadlock fails the test, not hangs it
        {
            ProcessSet set = ProcessSet.open();
            set.add(finished(0));
            java.util.concurrent.CountDownLatch entered = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
            AtomicReference<Optional<ProcessSet.ExitEvent>> taken = new AtomicReference<>();
            host.register(set, Poller.READABLE, (r, events) -> {
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                taken.set(set.poll()); // needs the set while close() waits for this handler to return
            });
            Thread loop = Thread.ofPlatform().start(() -> host.poll(WAIT));
            assertThat(entered.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
            Thread closer = Thread.ofPlatform().start(set::close);
            Processes.awaitParked(closer); // in the registration's cancel, waiting for the running handler
            release.countDown();
            closer.join(WAIT.toMillis());
            loop.join(WAIT.toMillis());
            assertThat(closer.isAlive()).as("close() returned").isFalse();
            assertThat(loop.isAlive()).as("the handler returned").isFalse();
            assertThat(taken.get()).as("closed first: nothing left to take").isEmpty();
        }
        host.close();
    }

    /** An fdkit child that has exited and been reaped. */
    private static ProcessDescriptor finished(int code) throws Exception {
        ProcessDescriptor p = ProcessDescriptor.start(exiting(code));
        p.waitFor();
        return p;
    }

    @Test
    void aSubscriberGetsOnlyWhatItRequested() throws Exception {
        try (ProcessSet set = ProcessSet.open()) {
            for (int i = 0; i < 5; i++) set.start(exiting(i));
            awaitPending(set, 5);
            Recorder recorder = new Recorder(1);
            set.exits().subscribe(recorder);
            assertThat(recorder.items).as("request(1) with 5 pending").hasSize(1);
            assertThat(set.pending()).isEqualTo(4);
            recorder.subscription.request(2);
            assertThat(recorder.items).hasSize(3);
            assertThat(set.pending()).isEqualTo(2);
            recorder.subscription.cancel();
            assertThat(set.poll()).as("after cancel, exits stay for poll()").isPresent().get().satisfies(e -> e.process().close());
            assertThat(set.size()).isEqualTo(1);
            for (ProcessSet.ExitEvent e : recorder.items) e.process().close();

            Recorder second = new Recorder(1);
            set.exits().subscribe(second);
            assertThat(second.error.get()).isInstanceOf(IllegalStateException.class);
            set.close();
            assertThat(recorder.completed.getCount()).as("a cancelled subscriber hears nothing more").isEqualTo(1);
        }
    }

    @Test
    void aSubscriberGetsExitsAsTheyHappenThenOnCompleteAtClose() throws Exception {
        ProcessSet set = ProcessSet.open();
        Recorder recorder = new Recorder(Long.MAX_VALUE);
        set.exits().subscribe(recorder);
        ProcessDescriptor p = startBlocked(set);
        p.stdin().close();
        ProcessSet.ExitEvent event = recorder.queue.poll(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(event).isNotNull();
        assertThat(event.process()).isSameAs(p);
        p.close();
        set.close();
        assertThat(recorder.completed.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        recorder.subscription.request(-1); // after the terminal signal: nothing (rule 1.7)
        assertThat(recorder.error.get()).isNull();
    }

    @Test
    void aChildAddedAfterItExitedIsReportedAtOnce() throws Exception {
        try (ProcessSet set = ProcessSet.open()) {
            ProcessDescriptor p = ProcessDescriptor.start(exiting(42));
            p.waitFor();
            set.add(p);
            ProcessSet.ExitEvent event = set.poll().orElseThrow(() -> new AssertionError("not reported at add()"));
            assertThat(event.process()).isSameAs(p);
            assertThat(event.status().code()).isEqualTo(42);
            assertThatThrownBy(() -> set.add(set.start(exiting(0)))).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already a member");
            p.close();
        }
    }

    @Test
    void aProcessThatIsNotOurChildIsReportedToo() throws Exception {
        Process jdk = new ProcessBuilder("sh", "-c", "read x").redirectOutput(Redirect.DISCARD).start();
        try (ProcessSet set = ProcessSet.open()) {
            ProcessDescriptor p = set.add(ProcessDescriptor.of(jdk.toHandle()));
            assertThat(p.isChild()).isFalse();
            jdk.getOutputStream().close();
            ProcessSet.ExitEvent event = set.awaitAny(WAIT).orElseThrow();
            assertThat(event.process().pid()).isEqualTo(jdk.pid());
            assertThat(event.status().kind()).isIn(ExitStatus.Kind.EXITED, ExitStatus.Kind.UNKNOWN);
            event.process().close();
        } finally {
            jdk.waitFor();
        }
    }

    @Test
    void closeLeavesMembersRunningAndTheyAreStillReaped() throws Exception {
        ProcessSet set = ProcessSet.open();
        ProcessDescriptor p = set.start(new ProcessBuilder("sleep", "60"));
        ProcessHandle handle = ProcessHandle.of(p.pid()).orElseThrow();
        set.close();
        assertThat(set.size()).isZero();
        assertThatThrownBy(p::fd).as("its descriptor was closed").isInstanceOf(IllegalStateException.class);
        assertThat(handle.isAlive()).as("close() leaves it running").isTrue();
        assertThat(set.poll()).isEmpty();
        assertThat(set.awaitAny(WAIT)).as("closed: empty at once").isEmpty();
        assertThatThrownBy(() -> set.start(exiting(0))).isInstanceOf(IllegalStateException.class).hasMessage("ProcessSet is closed");
        handle.destroyForcibly(); // still our unreaped child: the pid is ours
        assertThat(p.onExit().get(WAIT.toSeconds(), TimeUnit.SECONDS).signal()).isEqualTo(Processes.SIGKILL);
        assertThat(Processes.zombieChildrenAfter(Duration.ofSeconds(2))).doesNotContain(p.pid());
    }

    @Test
    void closeAndKillKillsEveryMemberAndTheGroupsTheyLeadAndReapsThem() throws Exception {
        ProcessSet set = ProcessSet.open();
        ProcessDescriptor plain = set.start(new ProcessBuilder("sleep", "60"));
        ProcessDescriptor leader = set.add(ProcessGroupTest.treeOfThree());
        List<Long> group = groupMembers(leader.pid());
        Process jdk = new ProcessBuilder("sleep", "60").start();
        set.add(ProcessDescriptor.of(jdk.toHandle()));
        set.closeAndKill();
        assertThat(Processes.stat(plain.pid())).as("killed and reaped before closeAndKill returned").isNull();
        assertThat(Processes.stat(leader.pid())).isNull();
        assertThat(plain.onExit().join().signal()).isEqualTo(Processes.SIGKILL);
        ProcessGroupTest.assertGroupGone(leader.pid(), group);
        assertThat(jdk.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).as("a member that is not our child is killed too").isTrue();
        assertThat(awaitGone(jdk.pid())).isTrue();
        assertThat(Processes.zombieChildrenAfter(Duration.ofSeconds(2))).doesNotContain(plain.pid(), leader.pid(), jdk.pid());
    }

    @Test
    void awaitAnyParksAVirtualThreadAndWakesAtTheExitOrAtClose() throws Exception {
        ProcessSet set = ProcessSet.open();
        ProcessDescriptor p = startBlocked(set);
        AtomicReference<Object> got = new AtomicReference<>();
        Thread waiter = Thread.ofVirtual().start(() -> got.set(await(set, WAIT)));
        Processes.awaitParked(waiter);
        p.stdin().close();
        waiter.join(WAIT.toMillis());
        assertThat(got.get()).isInstanceOf(Optional.class).asInstanceOf(org.assertj.core.api.InstanceOfAssertFactories.OPTIONAL).isPresent();
        p.close();

        Thread atClose = Thread.ofVirtual().start(() -> got.set(await(set, Duration.ofDays(1))));
        Processes.awaitParked(atClose);
        set.close();
        atClose.join(WAIT.toMillis());
        assertThat(got.get()).as("a waiter parked at close() returns empty").isEqualTo(Optional.empty());
        assertThat(set.awaitAny(Duration.ofSeconds(-1))).isEmpty();
    }

    @Test
    void awaitAnyIsInterruptible() throws Exception {
        try (ProcessSet set = ProcessSet.open()) {
            startBlocked(set);
            AtomicReference<Object> got = new AtomicReference<>();
            Thread waiter = Thread.ofVirtual().start(() -> got.set(await(set, Duration.ofDays(1))));
            Processes.awaitParked(waiter);
            waiter.interrupt();
            waiter.join(WAIT.toMillis());
            assertThat(got.get()).isInstanceOf(InterruptedException.class);
            assertThat(set.size()).isEqualTo(1);
            set.closeAndKill();
        }
    }

    @Test
    void awaitAnyInACallbackOnTheSharedPollersThreadStillSeesTheExit() throws Exception {
        try (ProcessSet set = ProcessSet.open(); ProcessSet other = ProcessSet.open()) {
            ProcessDescriptor trigger = startBlocked(other);
            ProcessDescriptor p = startBlocked(set);
            CompletableFuture<Object> got = new CompletableFuture<>();
            trigger.onExit().thenRun(() -> { // on the poller thread: the exit below must still be delivered
                try {
                    p.stdin().close();
                } catch (IOException e) {
                    got.complete(e);
                }
                got.complete(await(set, WAIT));
            });
            trigger.stdin().close(); // after thenRun: the callback runs on the poller thread, not here
            Object result = got.get(WAIT.toSeconds() + 5, TimeUnit.SECONDS);
            assertThat(result).isInstanceOf(Optional.class);
            assertThat((Optional<?>) result).as("the exit arrived while the callback waited").isPresent();
            p.close();
        }
    }

    @Test
    void badArgumentsAreNamed() throws Exception {
        try (ProcessSet set = ProcessSet.open()) {
            assertThatThrownBy(() -> set.awaitAny(null)).isInstanceOf(NullPointerException.class).hasMessage("timeout");
            assertThatThrownBy(() -> set.add(null)).isInstanceOf(NullPointerException.class).hasMessage("process");
            assertThatThrownBy(() -> set.start(null)).isInstanceOf(NullPointerException.class).hasMessage("builder");
            assertThatThrownBy(() -> set.exits().subscribe(null)).isInstanceOf(NullPointerException.class).hasMessage("subscriber");
            Recorder recorder = new Recorder(0);
            set.exits().subscribe(recorder);
            recorder.subscription.request(0);
            assertThat(recorder.error.get()).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("3.9");
        }
    }

    /** awaitAny's result, or the exception it threw. */
    private static Object await(ProcessSet set, Duration timeout) {
        try {
            return set.awaitAny(timeout);
        } catch (InterruptedException e) {
            return e;
        }
    }

    /** Requests {@code initial} at subscription and records every signal. */
    private static final class Recorder implements Flow.Subscriber<ProcessSet.ExitEvent> {
        final List<ProcessSet.ExitEvent> items = new java.util.concurrent.CopyOnWriteArrayList<>();
        final LinkedBlockingQueue<ProcessSet.ExitEvent> queue = new LinkedBlockingQueue<>();
        final java.util.concurrent.CountDownLatch completed = new java.util.concurrent.CountDownLatch(1);
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final long initial;
        volatile Flow.Subscription subscription;

        Recorder(long initial) {
            this.initial = initial;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            if (initial > 0) s.request(initial);
        }

        @Override
        public void onNext(ProcessSet.ExitEvent item) {
            items.add(item);
            queue.add(item);
        }

        @Override
        public void onError(Throwable t) {
            error.set(t);
        }

        @Override
        public void onComplete() {
            completed.countDown();
        }
    }
}
