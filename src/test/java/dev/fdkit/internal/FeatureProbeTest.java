package dev.fdkit.internal;

import dev.fdkit.Capability;
import dev.fdkit.Feature;
import dev.fdkit.LeakGuard;
import dev.fdkit.Linux;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The feature probe. What is available depends on the machine, so the tests assert what holds everywhere
 * (one entry per feature, causes, consistency between features) and guard the rest with assumptions.
 */
@ExtendWith(LeakGuard.class)
@Timeout(60)
class FeatureProbeTest {
    /** Features that need another one: unavailable whenever it is. */
    private static final Map<Feature, Set<Feature>> DEPENDENTS = Map.of(
            Feature.PIDFD_OPEN, EnumSet.of(Feature.PIDFD_NONBLOCK, Feature.WAITID_P_PIDFD, Feature.PIDFD_SEND_SIGNAL,
                    Feature.PIDFD_GET_INFO, Feature.PIDFD_INFO_EXIT),
            Feature.PIDFD_GET_INFO, EnumSet.of(Feature.PIDFD_INFO_EXIT),
            Feature.IO_URING, EnumSet.of(Feature.IO_URING_WAITID, Feature.IO_URING_FUTEX));

    @Test
    void featuresListsEveryFeatureOnceInOrderEachWithACause() {
        List<Capability> features = Linux.features();
        assertThat(features).extracting(Capability::feature).containsExactly(Feature.values());
        assertThat(features).allSatisfy(c -> assertThat(c.cause()).as("cause of %s", c.feature()).isNotBlank());
    }

    @Test
    void featuresAreProbedOnceAndCached() {
        assertThat(Linux.features()).isSameAs(Linux.features());
        for (Feature f : Feature.values()) {
            assertThat(Linux.feature(f)).isSameAs(Linux.features().get(f.ordinal()));
            assertThat(Linux.has(f)).isEqualTo(Linux.feature(f).available());
        }
    }

    @Test
    void aFeatureIsUnavailableWheneverOneItNeedsIs() {
        assertDependentsFollow(Linux.features().stream().map(Capability::available).toList());
    }

    @Test
    void displayNamesAreDistinctAndNonEmpty() {
        assertThat(List.of(Feature.values())).extracting(Feature::displayName).doesNotHaveDuplicates().allSatisfy(n -> assertThat(n).isNotBlank());
    }

    @Test
    void kernelReleaseAndGlibcVersionDescribeThisMachine() throws IOException {
        assertThat(Linux.kernelRelease()).isEqualTo(Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim());
        assertThat(Linux.glibcVersion()).matches("\\d+\\.\\d+.*");
    }

    @Test
    void kernelAtLeastComparesMajorThenMinor() {
        String[] parts = Linux.kernelRelease().split("[.-]");
        int major = Integer.parseInt(parts[0]);
        int minor = Integer.parseInt(parts[1]);
        assertThat(FeatureProbe.kernelAtLeast(major, minor)).isTrue();
        assertThat(FeatureProbe.kernelAtLeast(major, minor + 1)).isFalse();
        assertThat(FeatureProbe.kernelAtLeast(major - 1, minor + 50)).isTrue();
        assertThat(FeatureProbe.kernelAtLeast(major + 1, 0)).isFalse();
        assertThat(FeatureProbe.kernelAtLeast(2, 6)).isTrue();
    }

    @Test
    void criticalWithErrnoFollowsTheJdkVersion() {
        boolean jdk24OrLater = Runtime.version().feature() >= 24;
        assertThat(Linux.has(Feature.CRITICAL_WITH_ERRNO)).isEqualTo(jdk24OrLater);
        assertThat(Syscalls.criticalWithErrno()).isEqualTo(jdk24OrLater);
    }

    @Test
    void pidfdSpawnpFollowsTheGlibcSymbol() {
        assertThat(Linux.has(Feature.PIDFD_SPAWNP)).isEqualTo(Syscalls.hasSymbol("pidfd_spawnp"));
        assertThat(Linux.feature(Feature.PIDFD_SPAWNP).cause()).contains(Linux.glibcVersion());
    }

    @Test
    void availablePidfdOpenOpensAPidfdForThisProcess() throws SyscallException {
        assumeTrue(Linux.has(Feature.PIDFD_OPEN), () -> "pidfd_open unavailable here: " + Linux.feature(Feature.PIDFD_OPEN).cause());
        int pidfd = Syscalls.pidfdOpen((int) ProcessHandle.current().pid(), 0);
        try {
            assertThat(pidfd).isNotNegative();
            assertThat(Syscalls.pidfdSendSignal(pidfd, 0, 0)).as("signal 0 to ourselves").isTrue();
        } finally {
            Syscalls.close(pidfd);
        }
    }

    @Test
    void unavailableFeaturesSayWhy() {
        for (Capability c : Linux.features()) {
            if (c.available()) continue;
            assertThat(c.cause()).as("cause of %s", c.feature())
                    .containsAnyOf("ENOSYS", "EPERM", "EINVAL", "kernel", "glibc", "JDK", "needs", "disabled", "sysctl", "IORING_REGISTER_PROBE");
        }
    }

    // ------------------------------------------------------------------ -Dfdkit.disable

    @Test
    void featureAndFeatureIdListTheSameFeaturesInTheSameOrder() {
        assertThat(List.of(Feature.values())).extracting(Feature::name).containsExactlyElementsOf(List.of(FeatureId.values()).stream().map(FeatureId::name).toList());
        assertThat(List.of(Feature.values())).extracting(Feature::displayName).containsExactlyElementsOf(List.of(FeatureId.values()).stream().map(FeatureId::displayName).toList());
    }

    @Test
    void disabledFeaturesAreReportedOffWithTheProperty() {
        Set<FeatureId> asked = EnumSet.of(FeatureId.FUTEX_WAITV, FeatureId.CRITICAL_WITH_ERRNO);
        assumeTrue(asked.stream().anyMatch(id -> Linux.has(Feature.valueOf(id.name()))), "neither futex_waitv nor critical+captureCallState is available here");
        List<FeatureProbe.Answer> probed = FeatureProbe.probeAll(asked);
        assertThat(probed).extracting(FeatureProbe.Answer::id).containsExactly(FeatureId.values());
        for (FeatureProbe.Answer a : probed) {
            boolean availableHere = Linux.has(Feature.valueOf(a.id().name()));
            if (asked.contains(a.id())) {
                assertThat(a.available()).as("%s disabled", a.id()).isFalse();
                if (availableHere) assertThat(a.cause()).contains("disabled by -D" + FeatureProbe.DISABLE_PROPERTY);
            } else {
                assertThat(a.available()).as("%s untouched", a.id()).isEqualTo(availableHere);
            }
        }
    }

    @Test
    void disablingAFeatureAlsoDisablesWhatNeedsIt() {
        for (Feature base : DEPENDENTS.keySet()) {
            if (!Linux.has(base)) continue;
            List<FeatureProbe.Answer> probed = FeatureProbe.probeAll(EnumSet.of(FeatureId.valueOf(base.name())));
            assertThat(probed.get(base.ordinal()).available()).as("%s disabled", base).isFalse();
            assertDependentsFollow(probed.stream().map(FeatureProbe.Answer::available).toList());
        }
    }

    @Test
    void disablingNothingChangesNothing() {
        assertThat(FeatureProbe.probeAll(Set.of())).extracting(FeatureProbe.Answer::available)
                .containsExactlyElementsOf(Linux.features().stream().map(Capability::available).toList());
    }

    private static void assertDependentsFollow(List<Boolean> available) {
        DEPENDENTS.forEach((base, dependents) -> {
            if (available.get(base.ordinal())) return;
            for (Feature d : dependents) {
                assertThat(available.get(d.ordinal())).as("%s without %s", d, base).isFalse();
            }
        });
    }
}
