/*
 * bench/sysvjob.c — the System V IPC job the checkpoint/restore benchmark freezes.
 *
 *   sysvjob N
 *
 * Makes a shared segment of N MB (filled, attached), a message queue holding
 * 1000 messages of 64 bytes and a set of 16 semaphores (one taken with
 * SEM_UNDO), prints "ready" and blocks reading stdin. On a byte it checks them
 * all (the segment's pattern, the messages in order, the values) and prints
 * "ok N" (exit 0) or "BAD" (exit 1).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

enum { MESSAGES = 1000, SEMS = 16 };

struct message {
  long type;
  char text[64];
};

int main(int argc, char **argv) {
  if (argc != 2 || atoi(argv[1]) < 1) {
    fprintf(stderr, "usage: sysvjob MB\n");
    return 2;
  }
  const size_t size = (size_t)atoi(argv[1]) << 20;
  int seg = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
  int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  int sems = semget(IPC_PRIVATE, SEMS, IPC_CREAT | 0600);
  uint64_t *mem = seg < 0 ? (void *)-1 : shmat(seg, NULL, 0);
  if (q < 0 || sems < 0 || mem == (void *)-1) {
    perror("sysvjob");
    return 1;
  }
  for (size_t i = 0; i < size / 8; i++) mem[i] = i * 0x9e3779b97f4a7c15ULL;
  struct msqid_ds ds;
  msgctl(q, IPC_STAT, &ds);
  // above msgmnb (16 KB) only with CAP_SYS_RESOURCE: as root all of them, else what fits
  ds.msg_qbytes = MESSAGES * 64;
  msgctl(q, IPC_SET, &ds);
  msgctl(q, IPC_STAT, &ds);
  const int messages = ds.msg_qbytes / 64 < MESSAGES ? (int)(ds.msg_qbytes / 64) : MESSAGES;
  for (int i = 0; i < messages; i++) {
    struct message m = {1 + i % 5, {0}};
    snprintf(m.text, sizeof m.text, "message %d", i);
    if (msgsnd(q, &m, sizeof m.text, IPC_NOWAIT) < 0) {
      perror("msgsnd");
      return 1;
    }
  }
  for (int i = 0; i < SEMS; i++) semctl(sems, i, SETVAL, i + 1);
  struct sembuf take = {0, -1, SEM_UNDO};
  semop(sems, &take, 1);
  printf("ready\n");
  fflush(stdout);
  char c;
  if (read(0, &c, 1) != 1) return 1;
  int bad = 0;
  for (size_t i = 0; i < size / 8; i++) bad |= mem[i] != i * 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < messages; i++) {
    struct message m;
    char want[64];
    snprintf(want, sizeof want, "message %d", i);
    bad |= msgrcv(q, &m, sizeof m.text, 0, IPC_NOWAIT) < 0 || m.type != 1 + i % 5 || strcmp(m.text, want);
  }
  for (int i = 0; i < SEMS; i++) bad |= semctl(sems, i, GETVAL) != i + 1 - (i == 0);
  shmdt(mem);
  shmctl(seg, IPC_RMID, NULL);
  msgctl(q, IPC_RMID, NULL);
  semctl(sems, 0, IPC_RMID);
  printf(bad ? "BAD\n" : "ok %s\n", argv[1]);
  return bad;
}
