// What the kinds' state programs (native/resources/NAME/test_NAME.c, run by
// test/kinds.test.ts) share: CHECK, which counts and names what changed as
// "NAME changed: …" (define STATE_KIND "NAME" before including), and fdinfo,
// which reads one line of /proc/self/fdinfo/FD, and readyThenGo, the protocol's
// handshake.
#ifndef VDOMAIN_FD_STATE_CHECK_H
#define VDOMAIN_FD_STATE_CHECK_H
#include <stdio.h>
#include <string.h>

static int fails;
#define CHECK(cond, ...)                           \
  do {                                             \
    if (!(cond)) {                                 \
      fails++;                                     \
      printf(STATE_KIND " changed: " __VA_ARGS__); \
      printf("\n");                                \
    }                                              \
  } while (0)

// the value of fdinfo's line "key: value" of our fd, "" when there is none
__attribute__((unused)) static void fdinfo(int fd, const char* key, char* out, size_t n) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
  FILE* f = fopen(path, "r");
  out[0] = 0;
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':') {
      char* v = line + strlen(key) + 1;
      while (*v == ' ' || *v == '\t') v++;
      v[strcspn(v, "\n")] = 0;
      size_t len = strlen(v) < n ? strlen(v) : n - 1;
      memcpy(out, v, len);
      out[len] = 0;
    }
  if (f) fclose(f);
}

// Says "ready" (the state is set: checkpoint now) and waits for the test's line
// (after the restore); false when stdin ended.
__attribute__((unused)) static int readyThenGo(void) {
  char line[64];
  printf("ready\n");
  fflush(stdout);
  return fgets(line, sizeof line, stdin) != NULL;
}

#endif
