// `vdomain checkpoint NAME`: the client side. The domain's supervisor does the
// work (it is the one allowed to stop and read the job); this asks it and waits.
import path from 'node:path';
import { EXIT, UserError } from '../cli/errors';
import { probe, RemoteError, request } from './control';
import { defaultImageDir } from './image';
import { socketPath, validName } from './paths';

export interface CheckpointOptions {
  name: string;
  output?: string;
  kill?: boolean;
}

export async function checkpointDomain(opts: CheckpointOptions): Promise<string> {
  if (!validName(opts.name)) throw new UserError(`invalid domain name '${opts.name}'`, EXIT.USAGE);
  const sock = socketPath(opts.name);
  if ((await probe(sock)) !== 'live') throw new UserError(`no running domain named '${opts.name}'`, EXIT.NO_DOMAIN);
  const output = path.resolve(opts.output ?? defaultImageDir(opts.name));
  try {
    // no time limit: a large job takes as long as its memory takes to write
    const r = (await request(sock, { op: 'checkpoint', output, kill: !!opts.kill }, 0)) as { path: string };
    return r.path;
  } catch (e) {
    if (e instanceof RemoteError) throw new UserError(e.message, e.exitCode ?? EXIT.FAILURE);
    throw new UserError(`domain '${opts.name}': ${(e as Error).message}`, EXIT.FAILURE);
  }
}
