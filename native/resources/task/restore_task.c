// The process and its threads' attributes, the restorer blob's part (dumped by
// dump_task.cc and dump_signals.cc): cwd, umask, nice, limits, the memory layout
// /proc shows, process attributes, each thread's attributes and credentials.
#include "restorer/blob.h"

struct k_rlimit { uint64_t cur, max; };

static void set_limits(const struct vd_plan* p) {
  if (!p->has_rlimits) return;
  for (int r = 0; r < 16; r++) {
    struct k_rlimit want = {p->rlimits[r][0], p->rlimits[r][1]}, now;
    long rc = sys4(__NR_prlimit64, 0, r, &want, 0);
    if (rc == -EPERM && sys4(__NR_prlimit64, 0, r, 0, &now) == 0) {
      // a hard limit above ours needs privilege: keep ours, as close as allowed
      want.max = now.max;
      if (want.cur > want.max) want.cur = want.max;
      rc = sys4(__NR_prlimit64, 0, r, &want, 0);
    }
    if (rc < 0) fail(p, VD_STEP_RLIMIT, rc, r);
  }
}

// ---- attributes and credentials (dump side: native/resources/task/dump_task.cc, dump_signals.cc) ----

// which attribute a VD_STEP_ATTRS failure is about (its index; restore.cc names them)
enum { ATTR_TIMERSLACK, ATTR_MCE, ATTR_SPEC_SSB, ATTR_SPEC_IB, ATTR_IO_FLUSHER, ATTR_SECUREBITS, ATTR_PDEATHSIG,
       ATTR_SUBREAPER, ATTR_DUMPABLE };
// which part of the credentials a VD_STEP_CREDS failure is about
enum { CRED_BOUNDING, CRED_GROUPS, CRED_GID, CRED_UID, CRED_FSIDS, CRED_CAPS, CRED_AMBIENT };
#define SECBIT_KEEP_CAPS (1u << 4)
#define SECBIT_KEEP_CAPS_LOCKED (1u << 5)
#define PR_SPEC_STATE 0x1e  // ENABLE | DISABLE | FORCE_DISABLE | DISABLE_NOEXEC

static long prctl5(long option, long a, long b) { return sys5(__NR_prctl, option, a, b, 0, 0); }

// A decimal number in a /proc/self file: read (-1 when unreadable) or written.
static long read_proc_number(const char* path, int64_t* out) {
  char buf[32];
  long fd = sys3(__NR_open, path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  long n = sys3(__NR_read, fd, buf, sizeof buf - 1);
  sys1(__NR_close, fd);
  if (n <= 0) return n < 0 ? n : -EINVAL;
  int neg = buf[0] == '-';
  int64_t v = 0;
  for (long i = neg; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) v = v * 10 + (buf[i] - '0');
  *out = neg ? -v : v;
  return 0;
}
static long write_proc_number(const char* path, int64_t v) {
  char buf[24], digits[24];
  int n = 0, k = 0;
  uint64_t u = v < 0 ? (uint64_t)-v : (uint64_t)v;
  if (v < 0) buf[n++] = '-';
  do digits[k++] = (char)('0' + u % 10); while ((u /= 10));
  while (k) buf[n++] = digits[--k];
  long fd = sys3(__NR_open, path, O_WRONLY | O_CLOEXEC, 0);
  if (fd < 0) return fd;
  long rc = sys3(__NR_write, fd, buf, n);
  sys1(__NR_close, fd);
  return rc < 0 ? rc : 0;
}

// The process-wide ones, in the main thread before it makes the others (they
// inherit the login uid); dumpable comes last (restore_dumpable).
static void set_process_attrs(const struct vd_plan* p) {
  if (!p->has_attrs) return;
  long rc = prctl5(PR_SET_CHILD_SUBREAPER, p->subreaper, 0);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_SUBREAPER);
  // lowering it below the restoring process's needs CAP_SYS_RESOURCE: then the restore fails
  int64_t now = 0;
  if (read_proc_number("/proc/self/oom_score_adj", &now) < 0 || now != p->oom_score_adj) {
    rc = write_proc_number("/proc/self/oom_score_adj", p->oom_score_adj);
    if (rc < 0) fail(p, VD_STEP_OOM, rc, -1);
  }
  // changing it needs CAP_AUDIT_CONTROL: unprivileged, only a restore from the same login works
  if (p->has_loginuid && (read_proc_number("/proc/self/loginuid", &now) < 0 || (uint32_t)now != p->loginuid)) {
    rc = write_proc_number("/proc/self/loginuid", p->loginuid);
    if (rc < 0) fail(p, VD_STEP_LOGINUID, rc, -1);
  }
  for (uint32_t cmd = 1u << 2; cmd <= 1u << 8; cmd <<= 2)  // the REGISTER_* commands
    if ((p->membarrier & cmd) && (rc = sys3(__NR_membarrier, cmd, 0, 0)) < 0) fail(p, VD_STEP_MEMBARRIER, rc, (int)cmd);
}

static void set_speculation(const struct vd_plan* p, long which, int32_t want, int attr) {
  if (want < 0 || !(want & PR_SPEC_PRCTL)) return;  // not controllable there: nothing was chosen
  long now = prctl5(PR_GET_SPECULATION_CTRL, which, 0);
  if (now >= 0 && (now & PR_SPEC_STATE) == (want & PR_SPEC_STATE)) return;
  long arg = want & 8 ? 8 : want & 16 ? 16 : want & 4 ? 4 : 2;
  long rc = prctl5(PR_SET_SPECULATION_CTRL, which, arg);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, attr);
}

// Those a thread has of its own and that need the restoring process's privilege
// (I/O flusher: CAP_SYS_RESOURCE), before its credentials.
void set_thread_attrs(const struct vd_plan* p, const struct vd_thread* t, int index) {
  if (!t->has_attrs) return;
  long rc = prctl5(PR_SET_TIMERSLACK, (long)t->timerslack, 0);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_TIMERSLACK);
  rc = t->mce_kill == 2 ? prctl5(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0) : prctl5(PR_MCE_KILL, PR_MCE_KILL_SET, t->mce_kill);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_MCE);
  set_speculation(p, PR_SPEC_STORE_BYPASS, t->spec_ssb, ATTR_SPEC_SSB);
  set_speculation(p, PR_SPEC_INDIRECT_BRANCH, t->spec_ib, ATTR_SPEC_IB);
  // a thread starts with the main thread's (set before it made them)
  const int32_t inherited = index < 0 ? 0 : p->main_thread.io_flusher;
  if (t->io_flusher != inherited && (rc = prctl5(57 /* PR_SET_IO_FLUSHER */, t->io_flusher, 0)) < 0)
    fail(p, VD_STEP_ATTRS, rc, ATTR_IO_FLUSHER);
}

// keepcaps alone needs no privilege (PR_SET_KEEPCAPS); any other bit needs CAP_SETPCAP
static void set_securebits(const struct vd_plan* p, uint32_t want) {
  uint32_t now = (uint32_t)prctl5(PR_GET_SECUREBITS, 0, 0);
  if (now == want) return;
  long rc = (now ^ want) == SECBIT_KEEP_CAPS ? prctl5(PR_SET_KEEPCAPS, !!(want & SECBIT_KEEP_CAPS), 0)
                                             : prctl5(PR_SET_SECUREBITS, want, 0);
  if (rc < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_SECUREBITS);
}

struct k_cap_header { uint32_t version; int32_t pid; };
struct k_cap_data { uint32_t effective, permitted, inheritable; };

// Last for each thread (the main thread's once it has made the others, which
// need its privilege for clone3's set_tid): groups, gids, uids, capabilities,
// then what a change of credentials clears (keepcaps, the parent death signal).
// setresuid and the rest act on the calling thread alone as raw syscalls.
void set_thread_creds(const struct vd_plan* p, const struct vd_thread* t) {
  long rc;
  if (t->has_creds) {
    // the bounding set can only shrink, and needs CAP_SETPCAP: first
    for (long cap = 0; cap < 64; cap++) {
      long in = prctl5(PR_CAPBSET_READ, cap, 0);
      if (in < 0) break;  // past the kernel's last capability
      if (in == 1 && !(t->cap_bnd >> cap & 1) && (rc = prctl5(PR_CAPBSET_DROP, cap, 0)) < 0)
        fail(p, VD_STEP_CREDS, rc, CRED_BOUNDING);
    }
    // keep the permitted set across the uid change, so that capset can pick from it
    set_securebits(p, t->securebits | (t->securebits & SECBIT_KEEP_CAPS_LOCKED ? 0 : SECBIT_KEEP_CAPS));
    if ((t->has_creds & VD_CREDS_GROUPS) && (rc = sys2(__NR_setgroups, t->nr_groups, AT(p, t->groups_off, const uint32_t))) < 0)
      fail(p, VD_STEP_CREDS, rc, CRED_GROUPS);
    if ((rc = sys3(__NR_setresgid, t->gid[0], t->gid[1], t->gid[2])) < 0) fail(p, VD_STEP_CREDS, rc, CRED_GID);
    if ((rc = sys3(__NR_setresuid, t->uid[0], t->uid[1], t->uid[2])) < 0) fail(p, VD_STEP_CREDS, rc, CRED_UID);
    // setfs[ug]id answer the old value, never an error: ask again to see that it took
    sys1(__NR_setfsgid, t->gid[3]);
    sys1(__NR_setfsuid, t->uid[3]);
    if ((uint32_t)sys1(__NR_setfsgid, -1) != t->gid[3] || (uint32_t)sys1(__NR_setfsuid, -1) != t->uid[3])
      fail(p, VD_STEP_CREDS, -EPERM, CRED_FSIDS);
    struct k_cap_header h = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
    struct k_cap_data d[2] = {
        {(uint32_t)t->cap_eff, (uint32_t)t->cap_prm, (uint32_t)t->cap_inh},
        {(uint32_t)(t->cap_eff >> 32), (uint32_t)(t->cap_prm >> 32), (uint32_t)(t->cap_inh >> 32)}};
    if ((rc = sys2(__NR_capset, &h, d)) < 0) fail(p, VD_STEP_CREDS, rc, CRED_CAPS);
    if ((rc = sys5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) < 0)
      fail(p, VD_STEP_CREDS, rc, CRED_AMBIENT);
    for (long cap = 0; cap < 64; cap++)
      if ((t->cap_amb >> cap & 1) && (rc = sys5(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0)) < 0)
        fail(p, VD_STEP_CREDS, rc, CRED_AMBIENT);
  }
  if (!t->has_attrs) return;
  set_securebits(p, t->securebits);
  if ((rc = prctl5(PR_SET_PDEATHSIG, t->pdeathsig, 0)) < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_PDEATHSIG);
}

// Every thread's change of credentials sets the process's dumpable flag anew: after them all.
void restore_dumpable(const struct vd_plan* p) {
  long rc;
  if (p->has_attrs && (rc = prctl5(PR_SET_DUMPABLE, p->dumpable, 0)) < 0) fail(p, VD_STEP_ATTRS, rc, ATTR_DUMPABLE);
}

// The process kinds of the kinds table, each with its part of the plan.
void restore_process_kinds(const struct vd_plan* p) {
#define VD_KIND_RESTORE(name, text) restore_##name(p, &p->kinds[VD_KIND_##name]);
  VD_PROCESS_KINDS(VD_KIND_RESTORE)
#undef VD_KIND_RESTORE
}

void set_process_state(struct vd_plan* p) {
  const char* cwd = str(p, p->cwd_off);
  if (cwd) {
    long rc = sys1(__NR_chdir, cwd);
    if (rc < 0) fail(p, VD_STEP_CWD, rc, -1);
  }
  sys1(__NR_umask, p->umask);
  sys1(__NR_personality, p->personality);
  // lowering nice needs privilege; the job runs on at ours then
  sys3(__NR_setpriority, PRIO_PROCESS, 0, p->nice);
  set_limits(p);

  // memory layout: what /proc/PID/cmdline, environ, auxv and brk go by
  p->mm.auxv = (uint64_t)p->auxv;
  p->mm.exe_fd = (uint32_t)-1;
  long exe = -1;
  const char* exe_path = str(p, p->exe_path_off);
  if (exe_path) {
    exe = sys3(__NR_open, exe_path, O_RDONLY | O_CLOEXEC, 0);
    if (exe >= 0) p->mm.exe_fd = (uint32_t)exe;
  }
  long rc = sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&p->mm, sizeof p->mm, 0);
  if (rc < 0 && exe >= 0) {
    // changing /proc/PID/exe needs CAP_CHECKPOINT_RESTORE (or the file is busy)
    p->mm.exe_fd = (uint32_t)-1;
    rc = sys5(__NR_prctl, PR_SET_MM, PR_SET_MM_MAP, (long)&p->mm, sizeof p->mm, 0);
  }
  if (exe >= 0) sys1(__NR_close, exe);
  if (rc < 0) fail(p, VD_STEP_MM, rc, -1);

  set_handlers_and_timers(p);
  set_process_attrs(p);
  p->tgid = (int32_t)sys0(__NR_getpid);
  queue_process_pending(p);
  set_thread_state(p, &p->main_thread, -1);
}
