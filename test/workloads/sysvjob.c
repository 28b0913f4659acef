// A producer and a consumer over System V IPC: a message queue (with a fixed
// key) carries each item's index and value, a shared segment (removed with
// IPC_RMID at once, so only the attachments keep it) holds the value again in a
// ring of slots, and a semaphore set guards the ring (free slots, and a mutex
// taken with SEM_UNDO). Both sides fold what they saw into checksums; the
// consumer's comes back over the queue. Prints "ids KEYED_QUEUE SEGMENT SEMS",
// "ready", then "sums PRODUCER CONSUMER; " with the queue's limit and mode and
// the segment's size, mode and attachments; exits 0 if the sums agree.
//
//   sysvjob ITEMS [KEY]   (about ITEMS * 0.07 ms)
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

enum { SLOTS = 64, FREE = 0, MUTEX = 1, DONE_TYPE = 100 };

struct item {
  long type;  // 1 + index % 3: several types in flight
  uint64_t index, value;
};

static uint64_t step(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 29;
  return x;
}

static void sem(int id, int num, int op, int flags) {
  struct sembuf b = {(unsigned short)num, (short)op, (short)flags};
  while (semop(id, &b, 1) < 0)
    if (!(errno == EINTR)) { perror("semop"); exit(3); }
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const uint64_t items = strtoull(argv[1], NULL, 10);
  const key_t key = argc > 2 ? (key_t)strtol(argv[2], NULL, 0) : 0x00c0ffee;
  int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
  if (q < 0) { perror("create"); return 1; }  // (before the private objects: none left on the host)
  int seg = shmget(IPC_PRIVATE, SLOTS * sizeof(uint64_t) + 4096, IPC_CREAT | 0600);
  int sems = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
  if (q < 0 || seg < 0 || sems < 0) { perror("create"); return 1; }
  // limits and permissions set after creation (IPC_SET), to come back as set
  struct msqid_ds qs;
  if (msgctl(q, IPC_STAT, &qs) < 0) { perror("msgctl"); return 1; }
  qs.msg_qbytes = 8000;
  qs.msg_perm.mode = 0640;
  if (msgctl(q, IPC_SET, &qs) < 0) { perror("msgctl IPC_SET"); return 1; }
  uint64_t *ring = shmat(seg, NULL, 0);
  if (ring == (void *)-1) { perror("shmat"); return 1; }
  shmctl(seg, IPC_RMID, NULL);  // kept by the attachments alone
  unsigned short init[2] = {SLOTS, 1};
  union { int val; struct semid_ds *buf; unsigned short *array; } arg = {.array = init};
  if (semctl(sems, 0, SETALL, arg) < 0) { perror("semctl"); return 1; }
  // a second queue holds two odd messages until the end: an empty one and one
  // of msgmax bytes (the default 8192)
  static struct { long type; char text[8192]; } big, got;
  int odd = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  big.type = 7;
  if (odd < 0 || msgsnd(odd, &big, 0, 0) < 0) { perror("msgsnd empty"); return 1; }
  big.type = 9;
  for (size_t i = 0; i < sizeof big.text; i++) big.text[i] = (char)(i * 7);
  if (msgsnd(odd, &big, sizeof big.text, 0) < 0) { perror("msgsnd big"); return 1; }
  printf("ids %d %d %d\nready\n", q, seg, sems);
  fflush(stdout);

  pid_t consumer = fork();
  if (consumer == 0) {
    uint64_t sum = 0;
    for (uint64_t i = 0; i < items; i++) {
      struct item it;
      while (msgrcv(q, &it, sizeof it - sizeof(long), 0, 0) < 0)
        if (errno != EINTR) { perror("msgrcv"); _exit(3); }
      sem(sems, MUTEX, -1, SEM_UNDO);
      uint64_t shared = ring[it.index % SLOTS];
      sem(sems, MUTEX, 1, SEM_UNDO);
      sem(sems, FREE, 1, 0);
      sum = step(sum ^ it.value ^ (shared << 1) ^ it.index);
      if (i % 16 == 0) usleep(1300);  // slower than the producer: items wait in the queue
    }
    struct item done = {DONE_TYPE, items, sum};
    if (msgsnd(q, &done, sizeof done - sizeof(long), 0) < 0) { perror("msgsnd"); _exit(3); }
    _exit(0);
  }
  uint64_t x = 1, sum = 0;
  for (uint64_t i = 0; i < items; i++) {
    x = step(x + i);
    sem(sems, FREE, -1, 0);
    sem(sems, MUTEX, -1, SEM_UNDO);
    ring[i % SLOTS] = x;
    sem(sems, MUTEX, 1, SEM_UNDO);
    struct item it = {1 + (long)(i % 3), i, x};
    while (msgsnd(q, &it, sizeof it - sizeof(long), 0) < 0)
      if (errno != EINTR) { perror("msgsnd"); return 3; }
    sum = step(sum ^ x ^ (x << 1) ^ i);
    if (i % 16 == 0) usleep(1000);
  }
  struct item done;
  while (msgrcv(q, &done, sizeof done - sizeof(long), DONE_TYPE, 0) < 0)
    if (errno != EINTR) { perror("msgrcv"); return 3; }
  int st;
  waitpid(consumer, &st, 0);
  struct shmid_ds ss;
  if (msgctl(q, IPC_STAT, &qs) < 0 || shmctl(seg, IPC_STAT, &ss) < 0) { perror("IPC_STAT"); return 3; }
  ssize_t empty = msgrcv(odd, &got, sizeof got.text, 7, IPC_NOWAIT);
  ssize_t full = msgrcv(odd, &got, sizeof got.text, 9, IPC_NOWAIT);
  const char *odd_ok = empty == 0 && full == (ssize_t)sizeof big.text && !memcmp(got.text, big.text, sizeof big.text) ? "ok" : "BAD";
  msgctl(odd, IPC_RMID, NULL);
  msgctl(q, IPC_RMID, NULL);
  semctl(sems, 0, IPC_RMID);
  shmdt(ring);
  printf("sums %016llx %016llx; queue %lu bytes at most, mode %o; segment %zu bytes, mode %o, %lu attached; odd messages %s\n",
         (unsigned long long)sum, (unsigned long long)done.value, (unsigned long)qs.msg_qbytes, qs.msg_perm.mode & 0777,
         ss.shm_segsz, ss.shm_perm.mode & 0777, (unsigned long)ss.shm_nattch, odd_ok);
  return sum == done.value && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
