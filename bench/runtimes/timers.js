// bench/runtimes/timers.js — the Node job of the checkpoint/restore benchmark:
// timers ticking in the main thread and in a worker thread (epoll, eventfd,
// shared memory between threads). Prints "ready" once both tick; on a byte on
// stdin it waits for a few more ticks of each and prints "ok TICKS".
const { Worker } = require('worker_threads');
const counts = new Int32Array(new SharedArrayBuffer(8));
const w = new Worker('const { workerData: c } = require("worker_threads"); setInterval(() => Atomics.add(c, 1, 1), 5);', { eval: true, workerData: counts });
setInterval(() => Atomics.add(counts, 0, 1), 5);
const ready = setInterval(() => {
  if (counts[0] > 3 && counts[1] > 3) {
    clearInterval(ready);
    process.stdout.write('ready\n');
  }
}, 5);
process.stdin.once('data', () => {
  const at = [counts[0], counts[1]];
  setInterval(() => {
    if (counts[0] > at[0] + 3 && counts[1] > at[1] + 3) {
      process.stdout.write(`ok ${counts[0] + counts[1]}\n`);
      process.exit(0);
    }
  }, 5);
});
void w;
