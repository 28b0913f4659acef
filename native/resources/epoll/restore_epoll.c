// epoll, the restorer blob's part: open_fd_epoll makes an empty instance in the
// first pass of open_files (restore_files.c), fill_fd_epoll adds its watches once
// every fd of the process is at its number (the watches name them), the epolls
// it watches first (pass = its level).
// Readiness: adding a watch whose file is ready queues its event. That is right
// for a level-triggered watch and for an edge-triggered one whose event was
// pending at checkpoint. The edge-triggered watches with no event pending are
// added first and their events collected and dropped (epoll_wait, timeout 0)
// before any other watch is added; so are the EPOLLONESHOT watches that had
// fired (disarmed: the kernel adds EPOLLERR|EPOLLHUP to every watch added, and
// only firing takes them off again), added asking for every event: their files
// are ready for one (dump_epoll.cc refuses those that are not), so they fire.
#include "restorer/blob.h"
#include "resources/epoll/epoll_plan.h"

#define VD_EPOLL_CTL_ADD 1

struct vd_epoll_event {
  uint32_t events;
  uint64_t data;
} __attribute__((packed));  // as x86-64's struct epoll_event

static const struct vd_epoll* epoll_record(const struct vd_plan* p, const struct vd_fd* d) {
  if (d->data_len < sizeof(struct vd_epoll)) return 0;
  const struct vd_epoll* h = AT(p, d->data_off, const struct vd_epoll);
  if (d->data_len != sizeof *h + (uint64_t)h->nr_watches * sizeof(struct vd_epoll_watch)) return 0;
  return h;
}

long open_fd_epoll(const struct vd_plan* p, const struct vd_fd* d, int index) {
  (void)index;
  if (!epoll_record(p, d)) return -EINVAL;
  return sys1(__NR_epoll_create1, O_CLOEXEC);
}

// Adds watch w to epoll efd under its fd number; when that number is not the
// file's any more (closed or reused after the watch was added), the file is put
// there for the add only and what was there (if anything) put back.
static long add_watch(long efd, const struct vd_epoll_watch* w) {
  const int disarmed = !(w->events & ~VD_EPOLL_FLAGS);
  struct vd_epoll_event ev = {disarmed ? w->events | VD_EPOLL_EVENTS : w->events, w->data};
  if (w->via == w->tfd) return sys4(__NR_epoll_ctl, efd, VD_EPOLL_CTL_ADD, w->tfd, (long)&ev);
  long was = sys2(__NR_fcntl, w->tfd, F_GETFD), saved = -1;
  if (was >= 0 && (saved = sys3(__NR_fcntl, w->tfd, F_DUPFD_CLOEXEC, 0)) < 0) return saved;
  const long ep = efd == w->tfd ? saved : efd;  // (the epoll itself may sit at that number now)
  long rc = sys3(__NR_dup3, w->via, w->tfd, O_CLOEXEC);
  if (rc >= 0) rc = sys4(__NR_epoll_ctl, ep, VD_EPOLL_CTL_ADD, w->tfd, (long)&ev);
  if (saved >= 0) {
    long back = sys3(__NR_dup3, saved, w->tfd, (was & FD_CLOEXEC) ? O_CLOEXEC : 0);
    sys1(__NR_close, saved);
    if (rc >= 0 && back < 0) rc = back;
  } else {
    sys1(__NR_close, w->tfd);
  }
  return rc;
}

// added first, its event (if any) collected and dropped
static int drop_event(const struct vd_epoll_watch* w) {
  return !(w->events & ~VD_EPOLL_FLAGS) || ((w->events & VD_EPOLLET) && !(w->events & VD_EPOLLONESHOT) && !w->pending);
}

void fill_fd_epoll(const struct vd_plan* p, const struct vd_fd* d, int index, int pass) {
  const struct vd_epoll* h = epoll_record(p, d);
  if (!h) fail(p, VD_STEP_FD_FILL, -EINVAL, index);
  if ((int)h->level != pass) return;
  const struct vd_epoll_watch* ws = (const struct vd_epoll_watch*)(h + 1);
  const long efd = d->fd;
  long rc;
  for (uint32_t i = 0; i < h->nr_watches; i++)
    if (drop_event(&ws[i]) && (rc = add_watch(efd, &ws[i])) < 0)
      fail(p, VD_STEP_FD_FILL, rc, index);
  // their events, collected before: each call takes the ones it returns off the list
  struct vd_epoll_event got[32];
  do rc = sys4(__NR_epoll_wait, efd, (long)got, 32, 0);
  while (rc == 32);
  if (rc < 0) fail(p, VD_STEP_FD_FILL, rc, index);
  for (uint32_t i = 0; i < h->nr_watches; i++)
    if (!drop_event(&ws[i]) && (rc = add_watch(efd, &ws[i])) < 0)
      fail(p, VD_STEP_FD_FILL, rc, index);
}
