/* An epoll instance's record in the restorer's plan (vd_fd.data_off): a head and
 * its watches, written by plan_epoll.cc, read by restore_epoll.c. */
#ifndef VDOMAIN_EPOLL_PLAN_H
#define VDOMAIN_EPOLL_PLAN_H
#include <stdint.h>

#define VD_EPOLLONESHOT (1u << 30)
#define VD_EPOLLET (1u << 31)
/* the flags of a watch, not events: all a fired EPOLLONESHOT keeps (EP_PRIVATE_BITS) */
#define VD_EPOLL_FLAGS 0xf0000000u
/* every event a watch can ask for (EPOLLIN..EPOLLMSG, EPOLLRDHUP) */
#define VD_EPOLL_EVENTS 0x27dfu
/* how deep epolls nest (the kernel's EP_MAX_NESTS): fill passes 0..this */
#define VD_EPOLL_MAX_NEST 4

struct vd_epoll_watch {
  int32_t tfd;      /* the fd number the watch was added with (its key, with the file) */
  int32_t via;      /* an fd of the process holding that file now: tfd itself, unless
                       tfd was closed (or reused) after the watch was added */
  uint32_t events;  /* as the kernel keeps them (a fired EPOLLONESHOT: no poll bits left) */
  uint32_t pending; /* an EPOLLET watch with an event not yet collected */
  uint64_t data;
};

struct vd_epoll {
  uint32_t nr_watches;
  uint32_t level; /* 0: watches no epoll; else 1 + the deepest level it watches */
  /* nr_watches struct vd_epoll_watch follow */
};

#endif
