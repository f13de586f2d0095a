package dev.fdkit;

import java.time.Duration;

/**
 * What a reaped child consumed, from waitid's rusage (the kernel's own accounting, as in the CLONE_FD
 * proposal's clonefd_info).
 *
 * @param userTime         CPU time in user mode
 * @param systemTime       CPU time in the kernel
 * @param maxRssKilobytes  peak resident set size, in KiB
 */
public record ResourceUsage(Duration userTime, Duration systemTime, long maxRssKilobytes) {
    /**
     * User plus system time.
     *
     * @return the total CPU time the child consumed
     */
    public Duration cpuTime() {
        return userTime.plus(systemTime);
    }
}
