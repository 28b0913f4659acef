// SEM_UNDO across a checkpoint: three processes hold adjustments of one
// semaphore (start 5): the parent took 1, child A took 1, child B added 2, all
// with SEM_UNDO. Prints "ready"; after SECONDS the children exit without giving
// back, and the kernel applies their adjustments (5-1-1+2, then +1 for A, -2 for
// B: 4); the parent gives its own back (5). Prints "sems 4 5" when all came back.
// With "threads", child A has a second thread that took 1 more (A's adjustment,
// shared by its threads, is then 2): the same line.
//
//   semundo SECONDS [threads]
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

static int id;

static void op(int delta) {
  struct sembuf b = {0, (short)delta, SEM_UNDO};
  if (semop(id, &b, 1) < 0) { perror("semop"); exit(3); }
}

static void *takeOne(void *arg) {
  op(-1);  // into the process's undo list, shared by its threads
  for (;;) pause();
  return arg;
}

static pid_t child(int delta, unsigned seconds, int threaded) {
  pid_t p = fork();
  if (p == 0) {
    pthread_t t;
    if (threaded && pthread_create(&t, NULL, takeOne, NULL)) _exit(4);
    op(delta);
    sleep(seconds);
    _exit(0);  // the kernel undoes delta
  }
  return p;
}

int main(int argc, char **argv) {
  unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 3;
  const int threaded = argc > 2;
  if ((id = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) < 0 || semctl(id, 0, SETVAL, 5) < 0) { perror("semget"); return 1; }
  op(-1);
  pid_t a = child(-1, seconds, threaded), b = child(+2, seconds + 1, 0);
  while (semctl(id, 0, GETVAL) != 5 - 1 - 1 - threaded + 2) usleep(1000);  // both children have theirs
  printf("ready\n");
  fflush(stdout);
  int st;
  waitpid(a, &st, 0);
  waitpid(b, &st, 0);
  int after = semctl(id, 0, GETVAL);
  op(+1);
  printf("sems %d %d\n", after, semctl(id, 0, GETVAL));
  semctl(id, 0, IPC_RMID);
  return 0;
}
