// The supervisor's log: JSON lines (pino) in the domain's own log file, never in
// the job's output. Loading pino costs ~20 ms on this machine, which would delay
// every job's start and every restore: entries made before open() wait in memory
// (with their own time) and are written once the job runs.
import type { Logger } from 'pino';

export type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Entry = { level: Level; at: number; obj: object | string; msg?: string };

export class DomainLog {
  private real?: Logger;
  private pending: Entry[] = [];
  private stamp: number | null = null;

  constructor(private readonly opts: { name: string; level: string; file: string }) {}

  /** Loads pino and writes what waited. Idempotent. */
  open(): void {
    if (this.real) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const pino = require('pino') as typeof import('pino');
    this.real = pino.default(
      {
        level: this.opts.level,
        base: { domain: this.opts.name },
        // a waiting entry keeps the time it was made
        timestamp: () => `,"time":${this.stamp ?? Date.now()}`,
      },
      pino.default.destination({ dest: this.opts.file, sync: true, mode: 0o600 }),
    );
    for (const e of this.pending) {
      this.stamp = e.at;
      this.write(e.level, e.obj, e.msg);
    }
    this.stamp = null;
    this.pending = [];
  }

  log(level: Level, obj: object | string, msg?: string): void {
    if (this.real) this.write(level, obj, msg);
    else this.pending.push({ level, at: Date.now(), obj, msg });
  }
  info(obj: object | string, msg?: string) { this.log('info', obj, msg); }
  warn(obj: object | string, msg?: string) { this.log('warn', obj, msg); }
  error(obj: object | string, msg?: string) { this.log('error', obj, msg); }

  private write(level: Level, obj: object | string, msg?: string) {
    if (typeof obj === 'string') this.real![level](obj);
    else this.real![level](obj, msg);
  }
}
