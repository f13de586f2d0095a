/*
 * What every C baseline shares: the clock, the command line and the JSON line bin/bench reads (one per measurement:
 * the best run as "score", the standard deviation over runs as "error", the mean, the best thread CPU
 * time per op, and every run). Included by the programs beside it; bin/bench compiles only the .c files.
 */
#ifndef FDKIT_BENCH_C_H
#define FDKIT_BENCH_C_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Prints one measurement. higher_is_better: a throughput (the best run is the highest), else a time. */
__attribute__((unused)) static void report(const char *name, const char *unit, const double *scores, const double *cpus, int runs, int higher_is_better) {
    if (runs < 1) return; /* never from parse_args; tells gcc that scores[0] was written */
    double best = scores[0], best_cpu = cpus[0], sum = 0, sq = 0;
    for (int r = 0; r < runs; r++) {
        if (higher_is_better ? scores[r] > best : scores[r] < best) best = scores[r];
        if (cpus[r] < best_cpu) best_cpu = cpus[r];
        sum += scores[r];
    }
    double mean = sum / runs;
    for (int r = 0; r < runs; r++) sq += (scores[r] - mean) * (scores[r] - mean);
    double stdev = runs > 1 ? sqrt(sq / (runs - 1)) : 0;
    printf("{\"name\":\"%s\",\"unit\":\"%s\",\"score\":%.5f,\"error\":%.5f,\"mean\":%.5f,\"cpu\":%.3f,\"runs\":[",
           name, unit, best, stdev, mean, best_cpu);
    for (int r = 0; r < runs; r++) printf("%s%.5f", r ? "," : "", scores[r]);
    printf("],\"cpu_runs\":[");
    for (int r = 0; r < runs; r++) printf("%s%.3f", r ? "," : "", cpus[r]);
    printf("]}\n");
    fflush(stdout);
}

/*
 * The command line every C baseline takes: [--quick] [--runs N]. By default 7 runs of about 1 s per variant;
 * --quick: 3 runs of 0.5 s; --runs N (1..64): N runs. bin/bench splits a program's runs with --runs, half just
 * before and half just after the Java side it is compared with, and merges the two lines of each variant.
 */
__attribute__((unused)) static void parse_args(int argc, char **argv, int *runs, uint64_t *run_ns) {
    int quick = 0, given = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            quick = 1;
            continue;
        }
        char *end = NULL;
        given = strcmp(argv[i], "--runs") == 0 && i + 1 < argc ? (int) strtol(argv[++i], &end, 10) : 0;
        if (end == NULL || *end != 0 || given < 1 || given > 64) {
            fprintf(stderr, "usage: %s [--quick] [--runs N], N from 1 to 64\n", argv[0]);
            exit(2);
        }
    }
    *runs = given ? given : quick ? 3 : 7;
    *run_ns = quick ? 500000000u : 1000000000u;
}

#endif
