package dev.fdkit;

import dev.fdkit.internal.FeatureProbe;

import java.util.List;

/**
 * What this kernel, libc and JDK offer fdkit: probed once on first use, then cached.
 * {@code fdkit features} prints the same table.
 */
public final class Linux {
    private Linux() {}

    /** Every capability with its answer, in {@link Feature} order. */
    public static List<Capability> features() {
        return Probed.ALL;
    }

    /** The answer for one feature. */
    public static Capability feature(Feature feature) {
        return Probed.ALL.get(java.util.Objects.requireNonNull(feature, "feature").ordinal());
    }

    /** Shorthand for {@code feature(f).available()}. */
    public static boolean has(Feature feature) {
        return feature(feature).available();
    }

    /** The running kernel's release, from uname (e.g. {@code 6.18.4}). */
    public static String kernelRelease() {
        return FeatureProbe.kernelRelease();
    }

    /** The glibc version in use (e.g. {@code 2.36}). */
    public static String glibcVersion() {
        return FeatureProbe.glibcVersion();
    }

    private static final class Probed {
        static final List<Capability> ALL = FeatureProbe.probeAll();
    }
}
