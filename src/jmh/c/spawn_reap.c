/*
 * C baseline for the "spawn + reap /bin/true" row of bench/REPORT.md.
 *
 * Sequentially starts /bin/true (absolute path, stdio inherited, our environment) and reaps it, in a loop:
 *   posix_spawn    posix_spawn + waitpid: the plain C way, and the figure fdkit is compared with;
 *   as_fdkit       the calls fdkit's ProcessDescriptor.spawn + waitFor makes on glibc < 2.39, done in C:
 *                  posix_spawn with POSIX_SPAWN_SETSIGMASK (empty mask) | POSIX_SPAWN_SETSIGDEF (every
 *                  signal) and posix_spawn_file_actions_addclosefrom_np(3) (glibc 2.34+), then pidfd_open,
 *                  poll(2) until the pidfd is readable, waitid(P_PIDFD) with rusage, close. The difference
 *                  between the two is what fdkit's extra guarantees cost in C; fdkit minus as_fdkit is the
 *                  cost of the JVM and of fdkit's Java code.
 *
 * Each variant runs 7 times for about 1 s (--quick: 3 × 0.5 s) after a warm-up; the score is the best run
 * (wall-clock ms per spawn + reap), the error the standard deviation over the runs; "cpu" is the lowest
 * CPU time of the calling thread per op in ns (CLOCK_THREAD_CPUTIME_ID: the child's own time is not in it;
 * ns as JMH's cpu.time.norm, whatever the score's unit).
 *
 * Output: one JSON object per line, the format every C baseline in src/jmh/c prints (see eventfd_roundtrip.c):
 *   {"name":"spawn_reap.posix_spawn","unit":"ms/op","score":..,"error":..,"mean":..,"cpu":..,"runs":[..],"cpu_runs":[..]}
 *
 * Usage: spawn_reap [--quick] [--runs N]      (bench_c.h: parse_args)
 * Built by bin/bench: gcc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3 /* Linux 5.4 */
#endif

extern char **environ;

static char *const ARGV[] = {"/bin/true", NULL};

#include "bench_c.h"

static void die(const char *what, int error) {
    fprintf(stderr, "spawn_reap: %s: %s\n", what, strerror(error));
    exit(1);
}

static void plain(void) {
    pid_t pid;
    int error = posix_spawn(&pid, ARGV[0], NULL, NULL, ARGV, environ);
    if (error) die("posix_spawn", error);
    int status;
    if (waitpid(pid, &status, 0) != pid) die("waitpid", errno);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("/bin/true failed", 0);
}

static posix_spawnattr_t attributes;
static posix_spawn_file_actions_t actions;

static void prepare_as_fdkit(void) {
    sigset_t empty, all;
    sigemptyset(&empty);
    memset(&all, 0xff, sizeof all); /* as fdkit: every bit, glibc's internal signals included */
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_init(&actions);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    int error = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (error) die("posix_spawn_file_actions_addclosefrom_np", error);
#endif
}

static void as_fdkit(void) {
    pid_t pid;
    int error = posix_spawn(&pid, ARGV[0], &actions, &attributes, ARGV, environ);
    if (error) die("posix_spawn", error);
    int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) die("pidfd_open", errno);
    struct pollfd p = {.fd = pidfd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR) die("poll", errno);
    siginfo_t info;
    struct rusage usage;
    memset(&info, 0, sizeof info);
    if (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, &usage) < 0) die("waitid", errno);
    if (info.si_code != CLD_EXITED || info.si_status != 0) die("/bin/true failed", 0);
    close(pidfd);
}

/* ms per spawn + reap over about run_ns of wall time; *cpu: the thread's CPU ns per op (ns, like JMH's cpu.time.norm). */
static double run(void (*op)(void), uint64_t run_ns, double *cpu) {
    uint64_t ops = 0, cpu_start = clock_ns(CLOCK_THREAD_CPUTIME_ID), start = clock_ns(CLOCK_MONOTONIC), elapsed;
    do {
        op();
        ops++;
        elapsed = clock_ns(CLOCK_MONOTONIC) - start;
    } while (elapsed < run_ns);
    *cpu = (double) (clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu_start) / (double) ops;
    return (double) elapsed / 1e6 / (double) ops;
}

static void measure(const char *name, void (*op)(void), int runs, uint64_t run_ns) {
    double scores[64], cpus[64];
    run(op, run_ns / 2, &cpus[0]); /* warm-up: page cache, dynamic loader caches, CPU frequency */
    for (int r = 0; r < runs; r++) scores[r] = run(op, run_ns, &cpus[r]);
    report(name, "ms/op", scores, cpus, runs, 0);
}

int main(int argc, char **argv) {
    int runs;
    uint64_t run_ns;
    parse_args(argc, argv, &runs, &run_ns);
    prepare_as_fdkit();
    measure("spawn_reap.posix_spawn", plain, runs, run_ns);
    measure("spawn_reap.as_fdkit", as_fdkit, runs, run_ns);
    return 0;
}
