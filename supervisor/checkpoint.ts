// `vdomain checkpoint NAME`: the client side. The domain's supervisor does the
// work (it is the one allowed to stop and read the job); this asks it and waits.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT, UserError } from '../cli/errors';
import { RemoteError, request, SupervisorGoneError } from './control';
import { socketPath, validName } from './paths';

/** Where `vdomain checkpoint NAME` writes without -o: ./NAME-YYYYMMDD-HHMMSS.vdimg */
export function defaultImageDir(name: string, cwd = process.cwd()): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*/, '');
  let p = path.join(cwd, `${name}-${stamp}.vdimg`);
  for (let i = 2; fs.existsSync(p); i++) p = path.join(cwd, `${name}-${stamp}-${i}.vdimg`);
  return p;
}

export interface CheckpointOptions {
  name: string;
  output?: string;
  kill?: boolean;
}

export interface CheckpointReply {
  path: string;
  frozenMs: number;   // the job stopped
  dumpMs: number;     // writing its pages and state
  writtenMs: number;  // freeze → image fsynced and renamed
  totalMs: number;    // the request → image fsynced and renamed (checks before the freeze included)
}

export async function checkpointDomain(opts: CheckpointOptions): Promise<CheckpointReply> {
  if (!validName(opts.name)) throw new UserError(`invalid domain name '${opts.name}'`, EXIT.USAGE);
  const sock = socketPath(opts.name);
  const output = path.resolve(opts.output ?? defaultImageDir(opts.name));
  try {
    // no time limit: a large job takes as long as its memory takes to write
    return (await request(sock, { op: 'checkpoint', output, kill: !!opts.kill }, 0)) as CheckpointReply;
  } catch (e) {
    if (e instanceof RemoteError) throw new UserError(e.message, e.exitCode ?? EXIT.FAILURE);
    if (e instanceof SupervisorGoneError)
      throw new UserError(`domain '${opts.name}': its supervisor ended during the checkpoint (an image is there only if it was complete)`, EXIT.SUPERVISOR_GONE);
    // no socket, or one nobody listens on (its supervisor died)
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') throw new UserError(`no running domain named '${opts.name}'`, EXIT.NO_DOMAIN);
    throw new UserError(`domain '${opts.name}': ${(e as Error).message}`, EXIT.FAILURE);
  }
}
