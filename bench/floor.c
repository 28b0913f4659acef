/*
 * bench/floor.c — the "floor": the simplest fast C seccomp user-notification
 * supervisor, answering getpid. vdomain's intercepted calls are measured against it
 * (target: an intercepted call costs at most 1.3x this round trip).
 *
 *   floor N
 *
 * The child sets PR_SET_NO_NEW_PRIVS, installs a filter (x86-64 only) that returns
 * SECCOMP_RET_USER_NOTIF for getpid and allows everything else, with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, and
 * passes the listener fd to the parent over a socketpair (SCM_RIGHTS). The parent
 * sets SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP on it, acknowledges, and answers every
 * notification with blocking NOTIF_RECV / NOTIF_SEND (val = the child's pid) on a
 * plain loop. The child warms up, times N getpid calls with CLOCK_MONOTONIC and
 * prints one JSON line on stdout:
 *   {"mode":"floor-getpid","n":N,"ns_per_call":X}
 *
 * End of the run: the child makes one last getpid with args[0] == FLOOR_DONE; the
 * parent answers it and leaves the loop (a blocking RECV would not return when the
 * child exits, because the filter is only released when the child is reaped).
 * A SIGCHLD handler without SA_RESTART covers a child that dies early.
 *
 * Build: cc -O2 -Wall -o floor floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define FLOOR_DONE 0x666c6f6f72646f6eULL /* "floordon": the last, "we are done" getpid */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int send_fd(int sock, int fd)
{
    char byte = 'F';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
                          .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    if (recvmsg(sock, &msg, 0) != 1)
        return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

static int child_main(int sock, long n)
{
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 2),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getpid, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog fprog = { .len = sizeof prog / sizeof prog[0], .filter = prog };

    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        fprintf(stderr, "floor: PR_SET_NO_NEW_PRIVS: %s\n", strerror(errno));
        return 1;
    }
    int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                     SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
                     &fprog);
    if (fd < 0) {
        fprintf(stderr, "floor: seccomp(SET_MODE_FILTER): %s\n", strerror(errno));
        return 1;
    }
    if (send_fd(sock, fd)) {
        fprintf(stderr, "floor: sending the listener fd: %s\n", strerror(errno));
        return 1;
    }
    close(fd);
    char ack;
    if (read(sock, &ack, 1) != 1) /* parent set SYNC_WAKE_UP and is ready (or died) */
        return 1;
    close(sock);

    long warm = n / 20 < 1000 ? 1000 : n / 20;
    for (long i = 0; i < warm; i++)
        syscall(SYS_getpid);
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getpid);
    double t1 = now_ns();
    syscall(SYS_getpid, FLOOR_DONE);

    printf("{\"mode\":\"floor-getpid\",\"n\":%ld,\"ns_per_call\":%.1f}\n", n, (t1 - t0) / (double)n);
    fflush(stdout);
    return 0;
}

static volatile sig_atomic_t child_gone;
static void on_sigchld(int sig) { (void)sig; child_gone = 1; }

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: floor N\n");
        return 2;
    }
    char *end;
    long n = strtol(argv[1], &end, 10);
    if (*end || n <= 0) {
        fprintf(stderr, "floor: bad N '%s'\n", argv[1]);
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld; /* no SA_RESTART: interrupts a blocking RECV */
    sigaction(SIGCHLD, &sa, NULL);

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
        perror("floor: socketpair");
        return 1;
    }
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("floor: fork");
        return 1;
    }
    if (child == 0) {
        close(sv[0]);
        _exit(child_main(sv[1], n));
    }
    close(sv[1]);

    int rc = 0;
    int fd = recv_fd(sv[0]);
    if (fd < 0) {
        fprintf(stderr, "floor: did not receive the listener fd\n");
        rc = 1;
        goto reap;
    }
    __u64 flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags)) {
        fprintf(stderr, "floor: SECCOMP_IOCTL_NOTIF_SET_FLAGS(SYNC_WAKE_UP): %s\n", strerror(errno));
        rc = 1;
        goto reap; /* closing sv[0] makes the child's read fail: it exits */
    }
    if (write(sv[0], "G", 1) != 1) {
        perror("floor: ack");
        rc = 1;
        goto reap;
    }

    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    for (;;) {
        if (child_gone) {
            fprintf(stderr, "floor: child ended before the last call\n");
            rc = 1;
            break;
        }
        memset(&req, 0, sizeof req); /* RECV insists on a zeroed buffer */
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "floor: NOTIF_RECV: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        resp.id = req.id;
        resp.val = child;
        resp.error = 0;
        resp.flags = 0;
        if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) && errno != ENOENT) {
            fprintf(stderr, "floor: NOTIF_SEND: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        if (req.data.args[0] == FLOOR_DONE)
            break;
    }

reap:
    if (fd >= 0)
        close(fd);
    close(sv[0]);
    if (rc)
        kill(child, SIGKILL);
    int status;
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("floor: waitpid");
            return 1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (!rc)
            fprintf(stderr, "floor: child ended with status 0x%x\n", status);
        return 1;
    }
    return rc;
}
