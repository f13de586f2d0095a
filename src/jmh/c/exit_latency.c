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
 * Measured twice:
 *   pidfd_epoll    the thread that closes the pipe waits in epoll_wait itself and stamps t1 after waitid:
 *                  the plain C loop, and the figure fdkit is compared with;
 *   poller_thread  fdkit's architecture in C: a second thread sits in epoll_wait (as the fdkit-poller does),
 *                  reaps with waitid, stamps t1 and posts a semaphore; the closing thread waits on that
 *                  semaphore. The same work, plus waking a thread that is not the one that closed the pipe
 *                  (on an idle CPU: in a virtual machine that wake-up is an inter-processor interrupt to a
 *                  halted vCPU). fdkit minus this is the cost of fdkit's Java code on the poller's path.
 *
 * Each run does as many exits as fit in about 1 s (--quick: 0.5 s) of wall time; its score is the mean
 * latency in µs. 7 runs (--quick: 3) after a warm-up; the score is the best run, the error the standard
 * deviation over the runs, "cpu" the lowest CPU time of this thread per exit over the timed parts only, in ns.
 * A second line per variant, "<name>.median", gives each run's median latency instead of its mean (best
 * run, deviation over the runs): the mean counts the rare exits delayed by the scheduler, the median not.
 *
 * Output: one JSON object per line, the format every C baseline in src/jmh/c prints (see eventfd_roundtrip.c):
 *   {"name":"exit_latency.pidfd_epoll","unit":"us/op","score":..,"error":..,"mean":..,"cpu":..,"runs":[..],"cpu_runs":[..]}
 *
 * Usage: exit_latency [--quick] [--runs N]      (bench_c.h: parse_args)
 * Built by bin/bench: gcc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <semaphore.h>
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

#include "bench_c.h"

static void die(const char *what, int error) {
    fprintf(stderr, "exit_latency: %s: %s\n", what, strerror(error));
    exit(1);
}

static int epfd;     /* pidfd_epoll: waited on by the closing thread */
static int poller_epfd; /* poller_thread: waited on by the poller thread */
static sem_t reaped;
static volatile uint64_t poller_t1;

static void *poller(void *arg) {
    (void) arg;
    for (;;) {
        struct epoll_event ready;
        int n = epoll_wait(poller_epfd, &ready, 1, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n != 1) die("poller: epoll_wait", errno);
        siginfo_t info;
        struct rusage usage;
        memset(&info, 0, sizeof info);
        if (syscall(SYS_waitid, P_PIDFD, ready.data.fd, &info, WEXITED, &usage) < 0) die("poller: waitid", errno);
        if (info.si_code != CLD_EXITED || info.si_status != 0) die("cat did not exit with 0", 0);
        poller_t1 = clock_ns(CLOCK_MONOTONIC);
        sem_post(&reaped);
    }
    return NULL;
}

static int use_poller;

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
    if (epoll_ctl(use_poller ? poller_epfd : epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0) die("epoll_ctl", errno);

    char c = 'x';
    if (write(in[1], &c, 1) != 1) die("write", errno);
    if (read(out[0], &c, 1) != 1) die("read", errno);

    uint64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t0 = clock_ns(CLOCK_MONOTONIC);
    close(in[1]);
    if (use_poller) {
        while (sem_wait(&reaped) < 0)
            if (errno != EINTR) die("sem_wait", errno);
        *cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        epoll_ctl(poller_epfd, EPOLL_CTL_DEL, pidfd, NULL);
        close(pidfd);
        close(out[0]);
        return poller_t1 - t0;
    }
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

enum { MAX_EXITS = 100000 };
static uint64_t latencies[MAX_EXITS];

static int by_value(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/*
 * Mean µs per exit over about run_ns of wall time; *median: the run's median µs per exit; *cpu: the
 * thread's CPU ns per exit (timed parts; ns, like JMH's cpu.time.norm).
 */
static double run(uint64_t run_ns, double *median, double *cpu) {
    uint64_t exits = 0, latency = 0, cpu_ns = 0, start = clock_ns(CLOCK_MONOTONIC);
    do {
        uint64_t l = one_exit(&cpu_ns);
        latency += l;
        latencies[exits++] = l;
    } while (clock_ns(CLOCK_MONOTONIC) - start < run_ns && exits < MAX_EXITS);
    qsort(latencies, exits, sizeof latencies[0], by_value);
    *median = (double) latencies[exits / 2] / 1e3;
    *cpu = (double) cpu_ns / (double) exits;
    return (double) latency / 1e3 / (double) exits;
}

static void measure(const char *name, int runs, uint64_t run_ns) {
    double scores[64], medians[64], cpus[64];
    char median_name[128];
    run(run_ns / 2, &medians[0], &cpus[0]); /* warm-up */
    for (int r = 0; r < runs; r++) scores[r] = run(run_ns, &medians[r], &cpus[r]);
    snprintf(median_name, sizeof median_name, "%s.median", name);
    report(name, "us/op", scores, cpus, runs, 0);
    report(median_name, "us/op", medians, cpus, runs, 0);
}

int main(int argc, char **argv) {
    int runs;
    uint64_t run_ns;
    parse_args(argc, argv, &runs, &run_ns);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1", errno);
    measure("exit_latency.pidfd_epoll", runs, run_ns);

    poller_epfd = epoll_create1(EPOLL_CLOEXEC);
    if (poller_epfd < 0) die("epoll_create1", errno);
    if (sem_init(&reaped, 0, 0) < 0) die("sem_init", errno);
    pthread_t t;
    if ((errno = pthread_create(&t, NULL, poller, NULL)) != 0) die("pthread_create", errno);
    use_poller = 1;
    measure("exit_latency.poller_thread", runs, run_ns);
    return 0;
}
