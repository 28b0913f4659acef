/*
 * bench/workload.c — the job the benchmark runs natively and under vdomain.
 *
 *   workload MODE N
 *
 *   getpid    N raw syscall(SYS_getpid) calls (intercepted in a remapped domain)
 *   getuid    N raw syscall(SYS_getuid) calls (never intercepted: the BPF-only cost)
 *   forkwait  N times fork(), child _exit(0), parent waitpid(pid) and checks that
 *             waitpid returned what fork returned and that the child exited 0
 *   semop     N semop() calls on a private SysV semaphore, up and down in turn
 *             (never intercepted: each domain's IPC namespace is its own)
 *
 * After a short warm-up the loop is timed with CLOCK_MONOTONIC and one JSON line
 * is printed on stdout:
 *   {"mode":"getpid","n":N,"ns_per_call":X}
 * Errors go to stderr with exit status 1 (usage: 2).
 *
 * Build: cc -O2 -Wall -o workload workload.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void loop_syscall(long nr, long n)
{
    for (long i = 0; i < n; i++)
        syscall(nr);
}

static int loop_forkwait(long n)
{
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "workload: fork: %s\n", strerror(errno));
            return -1;
        }
        if (pid == 0)
            _exit(0);
        int status;
        pid_t w;
        do
            w = waitpid(pid, &status, 0);
        while (w < 0 && errno == EINTR);
        if (w != pid) {
            fprintf(stderr, "workload: waitpid returned %ld (%s), fork returned %ld\n",
                    (long)w, w < 0 ? strerror(errno) : "wrong pid", (long)pid);
            return -1;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "workload: child %ld ended with status 0x%x, expected exit 0\n",
                    (long)pid, status);
            return -1;
        }
    }
    return 0;
}

static int loop_semop(int id, long n)
{
    struct sembuf up = {0, 1, 0}, down = {0, -1, 0};
    for (long i = 0; i < n; i++)
        if (semop(id, i % 2 ? &down : &up, 1) < 0) {
            fprintf(stderr, "workload: semop: %s\n", strerror(errno));
            return -1;
        }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: workload getpid|getuid|forkwait|semop N\n");
        return 2;
    }
    const char *mode = argv[1];
    char *end;
    long n = strtol(argv[2], &end, 10);
    if (*end || n <= 0) {
        fprintf(stderr, "workload: bad N '%s'\n", argv[2]);
        return 2;
    }

    double t0, t1;
    if (!strcmp(mode, "getpid") || !strcmp(mode, "getuid")) {
        long nr = !strcmp(mode, "getpid") ? SYS_getpid : SYS_getuid;
        loop_syscall(nr, n / 20 < 1000 ? 1000 : n / 20);   /* warm-up */
        t0 = now_ns();
        loop_syscall(nr, n);
        t1 = now_ns();
    } else if (!strcmp(mode, "forkwait")) {
        if (loop_forkwait(n / 50 < 10 ? 10 : n / 50))      /* warm-up */
            return 1;
        t0 = now_ns();
        if (loop_forkwait(n))
            return 1;
        t1 = now_ns();
    } else if (!strcmp(mode, "semop")) {
        int id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
        if (id < 0) {
            fprintf(stderr, "workload: semget: %s\n", strerror(errno));
            return 1;
        }
        int rc = loop_semop(id, n / 20 < 1000 ? 1000 : n / 20);  /* warm-up */
        t0 = now_ns();
        rc = rc ? rc : loop_semop(id, n);
        t1 = now_ns();
        semctl(id, 0, IPC_RMID);
        if (rc)
            return 1;
    } else {
        fprintf(stderr, "workload: unknown mode '%s'\n", mode);
        return 2;
    }

    printf("{\"mode\":\"%s\",\"n\":%ld,\"ns_per_call\":%.1f}\n", mode, n, (t1 - t0) / (double)n);
    fflush(stdout);
    return 0;
}
