package dev.fdkit;

/**
 * The probe's answer for one {@link Feature}.
 *
 * @param feature   what was probed
 * @param available whether fdkit uses it
 * @param cause     why not (kernel too old, EPERM from seccomp, sysctl, missing glibc symbol, JDK too old),
 *                  or how it was confirmed when available
 */
public record Capability(Feature feature, boolean available, String cause) {}
