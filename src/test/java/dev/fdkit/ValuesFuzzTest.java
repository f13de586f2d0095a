package dev.fdkit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * ExitStatus and Linux with random arguments: every wait status decodes to a status whose parts agree with
 * each other, every constructor argument is checked or shown, and the feature table answers for every feature.
 */
@Tag("fuzz")
@ExtendWith(LeakGuard.class)
class ValuesFuzzTest {

    @Test
    void exitStatusesFromAnyArgumentsKeepTheContract() throws Exception {
        Fuzz.check("ExitStatus", new Fuzz.Api<Void>() {
            @Override
            public Void start() {
                return null;
            }

            @Override
            public Fuzz.Call<Void> next(Random r) {
                int n = r.nextBoolean() ? r.nextInt(0x10000) : Fuzz.anyInt(r);
                ResourceUsage usage = r.nextBoolean() ? null : new ResourceUsage(Duration.ofMillis(r.nextInt(1000)), Duration.ZERO, r.nextInt(1 << 20));
                ExitStatus.Kind kind = r.nextInt(6) == 0 ? null : ExitStatus.Kind.values()[r.nextInt(ExitStatus.Kind.values().length)];
                String detail = r.nextInt(4) == 0 ? null : "why " + n;
                return switch (r.nextInt(5)) {
                    case 0, 1 -> new Fuzz.Call<>("fromWaitStatus(status=0x" + Integer.toHexString(n) + ", usage)", List.of("status", "usage"), v -> {
                        ExitStatus s = ExitStatus.fromWaitStatus(n, usage);
                        assertConsistent(s);
                        assertThat(s.usage()).isSameAs(usage);
                        if ((n & 0x7f) == 0) assertThat(s).extracting(ExitStatus::kind, ExitStatus::code).containsExactly(ExitStatus.Kind.EXITED, (n >> 8) & 0xff);
                    });
                    case 2 -> new Fuzz.Call<>("exited(" + n + "), killed(" + n + ", ..)", List.of("code", "signal"), v -> {
                        assertConsistent(ExitStatus.exited(n, usage));
                        assertConsistent(ExitStatus.killed(n, r.nextBoolean(), usage));
                    });
                    case 3 -> new Fuzz.Call<>("unknown(" + detail + ")", List.of("why"), v -> assertConsistent(ExitStatus.unknown(detail)));
                    default -> new Fuzz.Call<>("new ExitStatus(" + kind + ", " + n + ", " + n + ", false, usage, " + detail + ")",
                            List.of("kind", "code", "signal", "detail"), v -> assertConsistent(new ExitStatus(kind, n, n, false, usage, detail)));
                };
            }

            @Override
            public void finish(Void v) {
            }
        });
    }

    /** Found by the fuzzing above: both failed later, or with the JDK's NullPointerException naming no argument. */
    @Test
    void aNullKindOrFeatureIsRejectedByName() {
        assertThatThrownBy(() -> new ExitStatus(null, 0, 0, false, null, "")).isInstanceOf(NullPointerException.class).hasMessage("kind");
        assertThatThrownBy(() -> Linux.feature(null)).isInstanceOf(NullPointerException.class).hasMessage("feature");
        assertThatThrownBy(() -> Linux.has(null)).isInstanceOf(NullPointerException.class).hasMessage("feature");
    }

    /** Whatever a status holds, the methods that describe it answer, and agree. */
    private static void assertConsistent(ExitStatus s) {
        assertThat(s.toString()).isNotBlank();
        assertThat(s.resourceUsage()).isEqualTo(java.util.Optional.ofNullable(s.usage()));
        assertThat(s.success()).isEqualTo(s.kind() == ExitStatus.Kind.EXITED && s.code() == 0);
        int shell = s.shellCode();
        switch (s.kind()) {
            case EXITED -> assertThat(shell).isEqualTo(s.code());
            case KILLED, STOPPED -> assertThat(shell).isEqualTo(128 + s.signal());
            case CONTINUED, UNKNOWN -> assertThat(shell).isEqualTo(-1);
        }
    }

    @Test
    void theFeatureTableAnswersForEveryFeatureAndNamesANullOne() throws Exception {
        Fuzz.check("Linux", Math.max(5, Scale.fuzzTries() / 10), new Fuzz.Api<Void>() {
            @Override
            public Void start() {
                return null;
            }

            @Override
            public Fuzz.Call<Void> next(Random r) {
                Feature f = r.nextInt(Feature.values().length + 1) == 0 ? null : Feature.values()[r.nextInt(Feature.values().length)];
                return new Fuzz.Call<>("feature(" + f + "), has(" + f + ")", List.of("feature"), v -> {
                    Capability c = Linux.feature(f);
                    assertThat(c.feature()).isEqualTo(f);
                    assertThat(c.cause()).isNotBlank();
                    assertThat(Linux.has(f)).isEqualTo(c.available());
                    assertThat(Linux.features()).hasSize(Feature.values().length).contains(c);
                    assertThat(Linux.kernelRelease()).isNotBlank();
                    assertThat(Linux.glibcVersion()).isNotBlank();
                });
            }

            @Override
            public void finish(Void v) {
            }
        });
    }
}
