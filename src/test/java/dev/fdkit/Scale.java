package dev.fdkit;

/**
 * How hard the race, fuzz and soak tests push. {@code mvn verify} runs them small (a few seconds in all);
 * the {@code stress} and {@code soak} Maven profiles raise the numbers through these system properties.
 */
final class Scale {
    private Scale() {}

    /** Rounds of each close race: {@code -Dfdkit.race.iterations}, 100,000 in the stress profile. */
    static int raceIterations() {
        return Integer.getInteger("fdkit.race.iterations", 1_000);
    }

    /** Random call sequences per fuzzed API: {@code -Dfdkit.fuzz.tries}. */
    static int fuzzTries() {
        return Integer.getInteger("fdkit.fuzz.tries", 100);
    }

    /** The soak's full volumes (issue 10) with {@code -Dfdkit.soak.full=true}, else a run of a couple of seconds. */
    static boolean fullSoak() {
        return Boolean.getBoolean("fdkit.soak.full");
    }
}
