package dev.fdkit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** How {@code -Dfdkit.disable}'s value is read: names as {@link Feature#named} matches them, blanks and unknown names ignored. */
@ExtendWith(LeakGuard.class)
@Timeout(60)
class LinuxDisablePropertyTest {
    @Test
    void entriesNameFeaturesByDisplayOrEnumNameInAnyCase() {
        List<Capability> probed = Linux.probe(" futex_waitv , critical_with_ERRNO,no-such-feature");
        assertThat(probed).extracting(Capability::feature).containsExactly(Feature.values());
        for (Capability c : probed) {
            boolean named = c.feature() == Feature.FUTEX_WAITV || c.feature() == Feature.CRITICAL_WITH_ERRNO;
            assertThat(c.available()).as(c.feature().name()).isEqualTo(!named && Linux.has(c.feature()));
        }
    }

    @Test
    void absentEmptyOrUnknownValuesDisableNothing() {
        List<Boolean> here = Linux.features().stream().map(Capability::available).toList();
        for (String value : new String[] {null, "", " , ", "no_such_feature"}) {
            assertThat(Linux.probe(value)).extracting(Capability::available).as("-D%s=%s", Linux.DISABLE_PROPERTY, value)
                    .containsExactlyElementsOf(here);
        }
    }

    @Test
    void namedFindsAFeatureByEitherNameAndNothingElse() {
        assertThat(Feature.named(" io_uring WAITID ")).contains(Feature.IO_URING_WAITID);
        assertThat(Feature.named("io_uring_waitid")).contains(Feature.IO_URING_WAITID);
        assertThat(Feature.named("waitid")).isEmpty();
        assertThat(Feature.named("")).isEmpty();
    }
}
