// The domain's System V IPC objects, dumped and made again by the keeper.
//
// Each domain has an IPC namespace of its own (made by the keeper, see
// own_ipc_namespace in native/keeper/keeper.c), so "the domain's objects" is exactly what its
// namespace holds, its keys and ids are its own, and a restore makes them again
// with the same ids (the *_next_id sysctls, allowed to whoever holds
// CAP_CHECKPOINT_RESTORE over the namespace: the keeper does) in a fresh
// namespace, beside the original if it still runs. The keeper is in that
// namespace and single-threaded, which the supervisor (node, in the host's) is not.
//
// Dump: while the job is frozen, on the supervisor's request ('P' with the file's
// fd). Restore: before the job's root is forked, from the image's sysv.img.
// Format: sysv_image.h (here); the dumper's side: dump_sysv.cc.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keeper/keeper.h"
#include "keeper/keeper_io.h"
#include "resources/mqueue/keeper_mqueue.h"
#include "resources/sysv/sysv_image.h"

union semun {
  int val;
  struct semid_ds *buf;
  unsigned short *array;
};

// The ids /proc/sysvipc/WHAT lists (this namespace's objects), second column.
static int list_ids(const char *what, int **ids) {
  char path[64];
  snprintf(path, sizeof path, "/proc/sysvipc/%s", what);
  FILE *f = fopen(path, "re");
  *ids = NULL;
  if (!f) return errno == ENOENT ? 0 : -1;
  char line[1024];
  int n = 0, cap = 0;
  if (!fgets(line, sizeof line, f)) n = 0;  // header
  while (fgets(line, sizeof line, f)) {
    long key, id;
    if (sscanf(line, "%ld %ld", &key, &id) != 2) continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 16;
      int *grown = realloc(*ids, cap * sizeof **ids);
      if (!grown) break;
      *ids = grown;
    }
    (*ids)[n++] = (int)id;
  }
  fclose(f);
  return n;
}

// The namespace's sysctls (/proc/sys/NAME): a value, its newline cut (-1 when it
// cannot be read), and a value written (-1 and the write's errno).
static int read_sysctl(const char *name, char *out, size_t n) {
  char path[96];
  snprintf(path, sizeof path, "/proc/sys/%s", name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t got = read(fd, out, n - 1);
  close(fd);
  if (got <= 0) return -1;
  out[got] = 0;
  out[strcspn(out, "\n")] = 0;
  return 0;
}

static int write_sysctl(const char *name, const char *value) {
  char path[96];
  snprintf(path, sizeof path, "/proc/sys/%s", name);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = strlen(value);
  int rc = write(fd, value, n) == (ssize_t)n ? 0 : -1;
  int e = errno;
  close(fd);
  errno = e;
  return rc;
}

static long sysctl_long(const char *name, long fallback) {
  char buf[32];
  return read_sysctl(name, buf, sizeof buf) < 0 ? fallback : strtol(buf, NULL, 10);
}

// ---- dump ---------------------------------------------------------------------------

static int dump_shm(int out, int id, uint32_t *count) {
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) < 0) return errno == EINVAL || errno == EIDRM ? 0 : -1;
  struct vd_sysv_object o = {.kind = VD_SYSV_SHM, .id = id, .key = ds.shm_perm.__key,
                             .mode = ds.shm_perm.mode, .uid = ds.shm_perm.uid, .gid = ds.shm_perm.gid,
                             .count = ds.shm_segsz, .data_len = ds.shm_segsz};
  // (Linux lets a segment marked for removal be attached while others still are)
  void *at = shmat(id, NULL, SHM_RDONLY);
  if (at == (void *)-1) return -1;
  // one walk over the pages instead of a fault at each (the job is frozen meanwhile)
  madvise(at, ds.shm_segsz, MADV_POPULATE_READ);
  int rc = write_full(out, &o, sizeof o) < 0 || write_full(out, at, ds.shm_segsz) < 0 ? -1 : 0;
  int e = errno;
  shmdt(at);
  errno = e;
  if (rc == 0) (*count)++;
  return rc;
}

static int dump_sem(int out, int id, uint32_t *count) {
  struct semid_ds ds;
  union semun arg = {.buf = &ds};
  if (semctl(id, 0, IPC_STAT, arg) < 0) return errno == EINVAL || errno == EIDRM ? 0 : -1;
  unsigned short *values = calloc(ds.sem_nsems ? ds.sem_nsems : 1, sizeof *values);
  if (!values) return -1;
  arg.array = values;
  int rc = -1;
  struct vd_sysv_object o = {.kind = VD_SYSV_SEM, .id = id, .key = ds.sem_perm.__key,
                             .mode = ds.sem_perm.mode, .uid = ds.sem_perm.uid, .gid = ds.sem_perm.gid,
                             .count = ds.sem_nsems, .data_len = ds.sem_nsems * sizeof *values};
  if (semctl(id, 0, GETALL, arg) == 0 && write_full(out, &o, sizeof o) == 0 &&
      write_full(out, values, o.data_len) == 0)
    rc = 0;
  free(values);
  if (rc == 0) (*count)++;
  return rc;
}

// Messages are copied, not received (MSG_COPY: the queue stays as it is), and
// gathered first because the object's header says how long they are.
static int dump_msg(int out, int id, uint32_t *count) {
  struct msqid_ds ds;
  if (msgctl(id, IPC_STAT, &ds) < 0) return errno == EINVAL || errno == EIDRM ? 0 : -1;
  // room for the largest message there can be (msgmax may have been lowered since)
  size_t max = (size_t)sysctl_long("kernel/msgmax", 8192);
  if (ds.msg_qbytes > max) max = ds.msg_qbytes;
  if (ds.__msg_cbytes > max) max = ds.__msg_cbytes;
  char *one = malloc(sizeof(long) + max);
  size_t cap = 4096, used = 0;
  char *data = malloc(cap);
  if (!one || !data) goto fail;
  for (uint64_t i = 0; i < ds.msg_qnum; i++) {
    ssize_t n = msgrcv(id, one, max, (long)i, MSG_COPY | IPC_NOWAIT);
    if (n < 0) goto fail;
    int64_t type = *(long *)one;
    uint64_t len = (uint64_t)n;
    while (used + 16 + len > cap) {
      char *grown = realloc(data, cap *= 2);
      if (!grown) goto fail;
      data = grown;
    }
    memcpy(data + used, &type, 8);
    memcpy(data + used + 8, &len, 8);
    memcpy(data + used + 16, one + sizeof(long), len);
    used += 16 + len;
  }
  struct vd_sysv_object o = {.kind = VD_SYSV_MSG, .id = id, .key = ds.msg_perm.__key,
                             .mode = ds.msg_perm.mode, .uid = ds.msg_perm.uid, .gid = ds.msg_perm.gid,
                             .count = ds.msg_qnum, .qbytes = ds.msg_qbytes, .data_len = used};
  if (write_full(out, &o, sizeof o) < 0 || write_full(out, data, used) < 0) goto fail;
  free(one);
  free(data);
  (*count)++;
  return 0;
fail:;
  int e = errno ? errno : ENOMEM;
  free(one);
  free(data);
  errno = e;
  return -1;
}

// The namespace's limits (ipc_namespaces(7): the SysV and mqueue sysctls are
// each namespace's own, and a root job may have changed them). All are saved; a
// restore writes those a fresh namespace has otherwise.
static const char *const kLimits[] = {VD_SYSV_LIMIT_NAMES};
enum { NR_LIMITS = sizeof kLimits / sizeof *kLimits };

// The limits of the namespace as the keeper made it (a fresh one's), read before
// the job runs: a dump saves them only if the job changed one.
static char fresh[NR_LIMITS][72];
static int have_fresh;

void sysv_note_fresh_limits(void) {
  have_fresh = 1;
  for (int i = 0; i < NR_LIMITS; i++)
    if (read_sysctl(kLimits[i], fresh[i], sizeof fresh[i]) < 0) have_fresh = 0;
}

static int dump_limits(int out, uint32_t *count) {
  char text[NR_LIMITS * 80] = "";
  size_t used = 0;
  int changed = !have_fresh;
  for (int i = 0; i < NR_LIMITS; i++) {
    char v[72];
    if (read_sysctl(kLimits[i], v, sizeof v) < 0) return -1;
    changed |= strcmp(v, fresh[i]) != 0;
    used += (size_t)snprintf(text + used, sizeof text - used, "%s\n", v);
  }
  if (!changed) return 0;
  struct vd_sysv_object o = {.kind = VD_SYSV_LIMITS, .count = NR_LIMITS, .data_len = used};
  if (write_full(out, &o, sizeof o) < 0 || write_full(out, text, used) < 0) return -1;
  (*count)++;
  return 0;
}

int sysv_dump(int out) {
  struct vd_sysv_header h = {.magic = VD_SYSV_MAGIC, .version = VD_SYSV_VERSION};
  if (write_full(out, &h, sizeof h) < 0) return errno;
  errno = 0;
  if (dump_limits(out, &h.nr_objects) < 0) return errno ? errno : EIO;
  static const struct {
    const char *what;
    int (*dump)(int, int, uint32_t *);
  } kinds[] = {{"shm", dump_shm}, {"sem", dump_sem}, {"msg", dump_msg}};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    int *ids;
    int n = list_ids(kinds[k].what, &ids);
    if (n < 0) return errno;
    for (int i = 0; i < n; i++) {
      errno = 0;
      if (kinds[k].dump(out, ids[i], &h.nr_objects) < 0) {
        int e = errno ? errno : EIO;
        free(ids);
        return e;
      }
    }
    free(ids);
  }
  errno = 0;
  if (mqueue_dump(out, &h.nr_objects) < 0) return errno ? errno : EIO;
  if (pwrite(out, &h, sizeof h, 0) != (ssize_t)sizeof h) return errno ? errno : EIO;
  return 0;
}

// ---- restore ------------------------------------------------------------------------

// Segments marked for removal while attached: the keeper holds them attached (the
// removal made at once) until every restored process has attached its own.
static void **held;
static int nr_held;
// shm_rmid_forced as saved: written once the tree has attached its segments (set
// before, it would destroy those no process has attached yet); NULL: as it is
static char *rmid_forced;

// Each limit that differs from this fresh namespace's (noted at the keeper's
// start: sysv_note_fresh_limits, before sysv_restore), written.
static int make_limits(const struct vd_sysv_object *o, int in) {
  if (o->count != NR_LIMITS || o->data_len > NR_LIMITS * 80) return errno = EINVAL, -1;
  char text[NR_LIMITS * 80 + 1];
  if (read_full(in, text, o->data_len) < 0) return errno = EIO, -1;
  text[o->data_len] = 0;
  char *line = text;
  for (int i = 0; i < NR_LIMITS; i++) {
    char *end = strchr(line, '\n');
    if (!end || end - line > 70) return errno = EINVAL, -1;
    *end = 0;
    for (char *c = line; *c; c++)
      if (!((*c >= '0' && *c <= '9') || *c == ' ' || *c == '\t' || *c == '-')) return errno = EINVAL, -1;
    if (strcmp(fresh[i], line)) {  // (this namespace's, noted as the keeper made it)
      if (!strcmp(kLimits[i], "kernel/shm_rmid_forced")) {
        free(rmid_forced);
        rmid_forced = strdup(line);
      } else if (write_sysctl(kLimits[i], line) < 0) {
        return -1;
      }
    }
    line = end + 1;
  }
  return *line ? (errno = EINVAL, -1) : 0;
}

static int set_next_id(const char *what, int id) {
  char name[48], value[24];
  snprintf(name, sizeof name, "kernel/%s_next_id", what);
  snprintf(value, sizeof value, "%d", id);
  return write_sysctl(name, value);
}

static int make_shm(const struct vd_sysv_object *o, int in) {
  if (o->data_len != o->count) return errno = EINVAL, -1;
  if (set_next_id("shm", o->id) < 0) return -1;
  int id = shmget(o->key, o->count, IPC_CREAT | IPC_EXCL | (o->mode & 0777));
  if (id < 0) return -1;
  if (id != o->id) return errno = EEXIST, -1;
  char *at = shmat(id, NULL, 0);
  if (at == (void *)-1) return -1;
  madvise(at, o->count, MADV_POPULATE_WRITE);  // (see dump_shm)
  if (read_full(in, at, o->count) < 0) return errno = errno ? errno : EIO, -1;
  struct shmid_ds ds;
  if (shmctl(id, IPC_STAT, &ds) < 0) return -1;
  ds.shm_perm.uid = o->uid;
  ds.shm_perm.gid = o->gid;
  ds.shm_perm.mode = o->mode & 0777;
  if (shmctl(id, IPC_SET, &ds) < 0) {  // an owner this user cannot give: ours, with the mode
    shmctl(id, IPC_STAT, &ds);
    ds.shm_perm.mode = o->mode & 0777;
    shmctl(id, IPC_SET, &ds);
  }
  if (o->mode & SHM_LOCKED) shmctl(id, SHM_LOCK, NULL);  // beyond RLIMIT_MEMLOCK: unlocked
  if (o->mode & SHM_DEST) {
    void **grown = realloc(held, (nr_held + 1) * sizeof *held);
    if (!grown) return -1;
    held = grown;
    held[nr_held++] = at;
    return shmctl(id, IPC_RMID, NULL);
  }
  return shmdt(at);
}

static int make_sem(const struct vd_sysv_object *o, int in) {
  if (o->count == 0 || o->count > 65536 || o->data_len != o->count * sizeof(unsigned short)) return errno = EINVAL, -1;
  unsigned short *values = malloc(o->data_len);
  if (!values) return -1;
  if (read_full(in, values, o->data_len) < 0) return free(values), errno = EIO, -1;
  int id = -1;
  if (set_next_id("sem", o->id) == 0) id = semget(o->key, (int)o->count, IPC_CREAT | IPC_EXCL | (o->mode & 0777));
  union semun arg = {.array = values};
  int rc = id < 0 ? -1 : id != o->id ? (errno = EEXIST, -1) : semctl(id, 0, SETALL, arg);
  free(values);
  if (rc < 0) return -1;
  struct semid_ds ds;
  arg.buf = &ds;
  if (semctl(id, 0, IPC_STAT, arg) < 0) return -1;
  ds.sem_perm.uid = o->uid;
  ds.sem_perm.gid = o->gid;
  ds.sem_perm.mode = o->mode & 0777;
  if (semctl(id, 0, IPC_SET, arg) < 0) {
    semctl(id, 0, IPC_STAT, arg);
    ds.sem_perm.mode = o->mode & 0777;
    semctl(id, 0, IPC_SET, arg);
  }
  return 0;
}

static int make_msg(const struct vd_sysv_object *o, int in) {
  if (o->data_len > (1ULL << 31)) return errno = EINVAL, -1;
  char *data = malloc(o->data_len ? o->data_len : 1);
  if (!data) return -1;
  if (read_full(in, data, o->data_len) < 0) return free(data), errno = EIO, -1;
  int id = -1;
  if (set_next_id("msg", o->id) == 0) id = msgget(o->key, IPC_CREAT | IPC_EXCL | (o->mode & 0777));
  if (id < 0 || id != o->id) return free(data), errno = id < 0 ? errno : EEXIST, -1;
  struct msqid_ds ds;
  msgctl(id, IPC_STAT, &ds);
  // the limit first, so that the messages fit (above msgmnb only with CAP_SYS_RESOURCE)
  if (o->qbytes > ds.msg_qbytes) {
    ds.msg_qbytes = o->qbytes;
    msgctl(id, IPC_SET, &ds);
  }
  char *buf = malloc(sizeof(long) + (size_t)o->data_len + 1);
  uint64_t at = 0;
  for (uint64_t i = 0; buf && i < o->count; i++) {
    int64_t type;
    uint64_t len;
    if (at + 16 > o->data_len) break;
    memcpy(&type, data + at, 8);
    memcpy(&len, data + at + 8, 8);
    if (len > o->data_len - at - 16 || type <= 0) break;
    *(long *)buf = (long)type;
    memcpy(buf + sizeof(long), data + at + 16, len);
    if (msgsnd(id, buf, len, IPC_NOWAIT) < 0) {
      free(buf);
      free(data);
      return -1;
    }
    at += 16 + len;
  }
  int whole = buf && at == o->data_len;
  free(buf);
  free(data);
  if (!whole) return errno = EINVAL, -1;
  msgctl(id, IPC_STAT, &ds);
  ds.msg_qbytes = o->qbytes;
  ds.msg_perm.uid = o->uid;
  ds.msg_perm.gid = o->gid;
  ds.msg_perm.mode = o->mode & 0777;
  if (msgctl(id, IPC_SET, &ds) < 0) {
    msgctl(id, IPC_STAT, &ds);
    ds.msg_perm.mode = o->mode & 0777;
    msgctl(id, IPC_SET, &ds);
  }
  return 0;
}

int sysv_restore(const char *path, int *failed_index) {
  *failed_index = -1;
  // (checked by the supervisor already; a swap since then must not block nor follow a link)
  int in = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) return errno;
  struct stat st;
  if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(in);
    return EINVAL;
  }
  struct vd_sysv_header h;
  if (read_full(in, &h, sizeof h) < 0 || h.magic != VD_SYSV_MAGIC || h.version != VD_SYSV_VERSION) {
    close(in);
    return EINVAL;
  }
  for (uint32_t i = 0; i < h.nr_objects; i++) {
    struct vd_sysv_object o;
    errno = 0;
    int rc = read_full(in, &o, sizeof o) < 0 ? (errno = EIO, -1)
             : o.kind == VD_SYSV_SHM        ? make_shm(&o, in)
             : o.kind == VD_SYSV_SEM        ? make_sem(&o, in)
             : o.kind == VD_SYSV_MSG        ? make_msg(&o, in)
             : o.kind == VD_SYSV_MQUEUE     ? mqueue_make(&o, in)
             : o.kind == VD_SYSV_LIMITS && i == 0 ? make_limits(&o, in)
                                            : (errno = EINVAL, -1);
    if (rc < 0) {
      *failed_index = (int)i;
      int e = errno ? errno : EIO;
      close(in);
      return e;  // what was made goes with the namespace when the keeper exits
    }
  }
  close(in);
  return 0;
}

void sysv_release(void) {
  for (int i = 0; i < nr_held; i++) shmdt(held[i]);
  nr_held = 0;
  if (rmid_forced) write_sysctl("kernel/shm_rmid_forced", rmid_forced);
  free(rmid_forced);
  rmid_forced = NULL;
}
