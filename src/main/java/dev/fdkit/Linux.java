package dev.fdkit;

import dev.fdkit.internal.FeatureProbe;

import java.util.List;

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

    private static final class Probed {
        static final List<Capability> ALL = FeatureProbe.probeAll();
    }
}
