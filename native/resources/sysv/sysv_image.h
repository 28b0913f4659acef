// The SysV IPC file of an image (sysv.img): every object of the domain's own IPC
// namespace, written by the keeper at checkpoint and made again by the keeper at
// restore (keeper_sysv.c, beside this file), summarised for the manifest by the
// dumper (dump_sysv.cc). Little-endian x86-64, as the rest of the image.
//
//   header, then for each object: a vd_sysv_object, then data_len bytes:
//     shm: the segment's contents (size bytes)
//     sem: nsems values, uint16 each
//     msg: count messages, each an int64 type, a uint64 length and the bytes
//     mqueue: resources/mqueue/mqueue_image.h
//     limits: see VD_SYSV_LIMITS below
#ifndef VDOMAIN_SYSV_IMAGE_H
#define VDOMAIN_SYSV_IMAGE_H
#include <stdint.h>

#define VD_SYSV_MAGIC 0x56535644u  // "DVSV"
#define VD_SYSV_VERSION 1
#define VD_SYSV_FILE "sysv.img"

// (POSIX message queues are the namespace's too: resources/mqueue/mqueue_image.h)
enum vd_sysv_kind { VD_SYSV_SHM = 1, VD_SYSV_SEM = 2, VD_SYSV_MSG = 3, VD_SYSV_MQUEUE = 4, VD_SYSV_LIMITS = 5 };

// VD_SYSV_LIMITS, the first object: the namespace's limits, each sysctl of
// VD_SYSV_LIMIT_NAMES (under /proc/sys) as its value's text and a newline, in
// that order (count = how many)
#define VD_SYSV_LIMIT_NAMES                                                                                \
  "kernel/shmmax", "kernel/shmall", "kernel/shmmni", "kernel/msgmax", "kernel/msgmni", "kernel/msgmnb",   \
      "kernel/sem", "fs/mqueue/queues_max", "fs/mqueue/msg_max", "fs/mqueue/msgsize_max",                 \
      "fs/mqueue/msg_default", "fs/mqueue/msgsize_default", "kernel/shm_rmid_forced"

struct vd_sysv_header {
  uint32_t magic, version;
  uint32_t nr_objects, pad;
};

struct vd_sysv_object {
  uint32_t kind;      // enum vd_sysv_kind
  int32_t id;         // made again with this id (the *_next_id sysctls)
  int32_t key;        // IPC_PRIVATE (0) for a segment already removed but attached
  uint32_t mode;      // permission bits, and SHM_DEST / SHM_LOCKED for shm
  uint32_t uid, gid;  // owner
  uint64_t count;     // shm: size in bytes; sem: semaphores; msg: messages
  uint64_t qbytes;    // msg: the queue's byte limit (msg_qbytes)
  uint64_t data_len;  // bytes that follow
};

#endif
