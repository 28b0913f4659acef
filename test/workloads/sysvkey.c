// A stranger's SysV objects on the host: `sysvkey create KEY` makes a message
// queue, a semaphore set and a segment with KEY (prints "made"); `sysvkey remove
// KEY` removes them. Used to show that a domain's keys are its own.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  key_t key = (key_t)strtol(argv[2], NULL, 0);
  if (!strcmp(argv[1], "create")) {
    if (msgget(key, IPC_CREAT | IPC_EXCL | 0600) < 0 || semget(key, 1, IPC_CREAT | IPC_EXCL | 0600) < 0 ||
        shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600) < 0) {
      perror("create");
      return 1;
    }
    printf("made\n");
    return 0;
  }
  int q = msgget(key, 0), s = semget(key, 0, 0), m = shmget(key, 0, 0);
  if (q >= 0) msgctl(q, IPC_RMID, NULL);
  if (s >= 0) semctl(s, 0, IPC_RMID);
  if (m >= 0) shmctl(m, IPC_RMID, NULL);
  return 0;
}
