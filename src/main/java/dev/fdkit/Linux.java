package dev.fdkit;

import dev.fdkit.internal.FeatureId;
import dev.fdkit.internal.FeatureProbe;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What this kernel, libc and JDK offer fdkit: probed once on first use, then cached.
 * {@code fdkit features} prints the same table.
 */
public final class Linux {
    private Linux() {}

    /**
     * Every capability with its answer, in {@link Feature} order.
     *
     * @return one immutable entry per {@link Feature}, probed on the first call
     */
    public static List<Capability> features() {
        return Probed.ALL;
    }

    /**
     * The answer for one feature.
     *
     * @param feature the capability to look up; not null
     * @return whether it is available and, if not, why
     * @throws NullPointerException if {@code feature} is null
     */
    public static Capability feature(Feature feature) {
        return Probed.ALL.get(java.util.Objects.requireNonNull(feature, "feature").ordinal());
    }

    /**
     * Shorthand for {@code feature(f).available()}.
     *
     * @param feature the capability to look up; not null
     * @return true if fdkit can use it on this machine
     * @throws NullPointerException if {@code feature} is null
     */
    public static boolean has(Feature feature) {
        return feature(feature).available();
    }

    /**
     * The running kernel's release, from uname (e.g. {@code 6.18.4}).
     *
     * @return uname's release string, as the kernel reports it
     */
    public static String kernelRelease() {
        return FeatureProbe.kernelRelease();
    }

    /**
     * The glibc version in use (e.g. {@code 2.36}).
     *
     * @return the version string gnu_get_libc_version reports
     */
    public static String glibcVersion() {
        return FeatureProbe.glibcVersion();
    }

    /**
     * The system property that turns features off, as if the machine lacked them: a comma-separated list of
     * {@link Feature#named names} ({@code -Dfdkit.disable=io_uring,pidfd_open}). Read once, on the first probe.
     */
    public static final String DISABLE_PROPERTY = FeatureProbe.DISABLE_PROPERTY;

    /** Probes with the features named in {@code disableProperty} (null: none) turned off; names that match no feature are ignored. */
    static List<Capability> probe(String disableProperty) {
        Set<FeatureId> disabled = EnumSet.noneOf(FeatureId.class);
        if (disableProperty != null) {
            for (String name : disableProperty.split(",")) Feature.named(name).ifPresent(f -> disabled.add(f.id()));
        }
        List<FeatureProbe.Answer> answers = FeatureProbe.probeAll(disabled);
        List<Capability> all = new ArrayList<>();
        for (Feature f : Feature.values()) {
            FeatureProbe.Answer a = answers.get(f.id().ordinal());
            all.add(new Capability(f, a.available(), a.cause()));
        }
        return List.copyOf(all);
    }

    // Global by design: every object consults the answer when it picks a syscall or its fallback, so the
    // answer (and -Dfdkit.disable) is fixed for the JVM's life; a test of a fallback runs in a child JVM.
    private static final class Probed {
        static final List<Capability> ALL = probe(System.getProperty(DISABLE_PROPERTY));
    }
}
