/*
 * C baseline for the "exit-notification latency" row of bench/REPORT.md.
 *
 * The same scenario as dev.fdkit.bench.ExitLatency (fdkit's side), step by step:
 *   1. spawn /bin/cat with its stdin and stdout on pipes (posix_spawn; both pipes O_CLOEXEC on our side),
 *      pidfd_open it and add the pidfd to an epoll instance (EPOLLIN | EPOLLONESHOT, as fdkit's poller);
 *   2. write one byte to its stdin and read it back from its stdout: cat is now running and goes straight
 *      back to read(0);
 *   3. t0; close our end of its stdin: cat reads EOF and exits; epoll_wait until the pidfd is readable;
 *      waitid(P_PIDFD, WEXITED) with rusage (what fdkit's poller does before it completes onExit()); t1.
 * The latency is t1 - t0: cat's wake-up, its exit path (the kernel tears the process down and notifies the
 * pidfd's waiters), our wake-up from epoll_wait and the reap. Nothing is subtracted. Setup and cleanup
 * (spawn, echo, EPOLL_CTL_DEL, closing the descriptors) are outside the timed part.
 *
 * Each run does as many exits as fit in about 1 s (--quick: 0.5 s) of wall time; its score is the mean
 * latency in µs. 7 runs (--quick: 3) after a warm-up; the score is the best run, the error the standard
 * deviation over the runs, "cpu" the lowest CPU time of this thread per exit over the timed parts only.
 *
 * Output: one JSON object per line, the format every C baseline in src/jmh/c prints (see eventfd_roundtrip.c):
 *   {"name":"exit_latency.pidfd_epoll","unit":"us/op","score":..,"error":..,"mean":..,"cpu":..,"runs":[..],"cpu_runs":[..]}
 *
 * Usage: exit_latency [--quick]
 * Built by bin/bench: gcc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3 /* Linux 5.4 */
#endif

extern char **environ;

static char *const ARGV[] = {"/bin/cat", NULL};

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static void die(const char *what, int error) {
    fprintf(stderr, "exit_latency: %s: %s\n", what, strerror(error));
    exit(1);
}

static int epfd;

/* One exit; returns its latency in ns and adds this thread's CPU ns of the timed part to *cpu_ns. */
static uint64_t one_exit(uint64_t *cpu_ns) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) die("pipe2", errno);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    pid_t pid;
    int error = posix_spawn(&pid, ARGV[0], &actions, NULL, ARGV, environ);
    if (error) die("posix_spawn", error);
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0) die("pidfd_open", errno);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = pidfd};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0) die("epoll_ctl", errno);

    char c = 'x';
    if (write(in[1], &c, 1) != 1) die("write", errno);
    if (read(out[0], &c, 1) != 1) die("read", errno);

    uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = clock_ns(CLOCK_MONOTONIC);
    close(in[1]);
    struct epoll_event ready;
    int n;
    while ((n = epoll_wait(epfd, &ready, 1, -1)) < 0)
        if (errno != EINTR) die("epoll_wait", errno);
    siginfo_t info;
    struct rusage usage;
    memset(&info, 0, sizeof info);
    if (syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, &usage) < 0) die("waitid", errno);
    uint64_t t1 = clock_ns(CLOCK_MONOTONIC);
    *cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;

    if (n != 1 || ready.data.fd != pidfd) die("epoll_wait: unexpected event", 0);
    if (info.si_code != CLD_EXITED || info.si_status != 0) die("cat did not exit with 0", 0);
    epoll_ctl(epfd, EPOLL_CTL_DEL, pidfd, NULL);
    close(pidfd);
    close(out[0]);
    return t1 - t0;
}

/* Mean µs per exit over about run_ns of wall time; *cpu: the thread's CPU µs per exit (timed parts). */
static double run(uint64_t run_ns, double *cpu) {
    uint64_t exits = 0, latency = 0, cpu_ns = 0, start = clock_ns(CLOCK_MONOTONIC);
    do {
        latency += one_exit(&cpu_ns);
        exits++;
    } while (clock_ns(CLOCK_MONOTONIC) - start < run_ns);
    *cpu = (double) cpu_ns / 1e3 / (double) exits;
    return (double) latency / 1e3 / (double) exits;
}

static void measure(const char *name, int runs, uint64_t run_ns) {
    double scores[64], cpus[64], best = 1e300, best_cpu = 1e300, sum = 0, sq = 0;
    run(run_ns / 2, &cpus[0]); /* warm-up */
    for (int r = 0; r < runs; r++) {
        scores[r] = run(run_ns, &cpus[r]);
        if (scores[r] < best) best = scores[r];
        if (cpus[r] < best_cpu) best_cpu = cpus[r];
        sum += scores[r];
    }
    double mean = sum / runs;
    for (int r = 0; r < runs; r++) sq += (scores[r] - mean) * (scores[r] - mean);
    double stdev = runs > 1 ? sqrt(sq / (runs - 1)) : 0;
    printf("{\"name\":\"%s\",\"unit\":\"us/op\",\"score\":%.3f,\"error\":%.3f,\"mean\":%.3f,\"cpu\":%.3f,\"runs\":[",
           name, best, stdev, mean, best_cpu);
    for (int r = 0; r < runs; r++) printf("%s%.3f", r ? "," : "", scores[r]);
    printf("],\"cpu_runs\":[");
    for (int r = 0; r < runs; r++) printf("%s%.3f", r ? "," : "", cpus[r]);
    printf("]}\n");
    fflush(stdout);
}

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1", errno);
    measure("exit_latency.pidfd_epoll", quick ? 3 : 7, quick ? 500000000u : 1000000000u);
    return 0;
}
