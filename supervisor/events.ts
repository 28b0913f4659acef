// Lifecycle events of a domain (eventemitter3): what JavaScript hears from the
// native side. Never one event per syscall.
import EventEmitter from 'eventemitter3';

export interface DomainEventMap {
  /** the root process ended: its wait status */
  'root-exit': (waitStatus: number) => void;
  /** the last process of the domain ended */
  empty: () => void;
  /** a message from the native side, for the log */
  log: (level: string, message: string) => void;
}

export class DomainEvents extends EventEmitter<DomainEventMap> {}

/** Exit status as a shell reports it: the code, or 128 + the signal. */
export function shellStatus(waitStatus: number): number {
  const sig = waitStatus & 0x7f;
  if (sig === 0) return (waitStatus >> 8) & 0xff;
  return 128 + sig;
}
