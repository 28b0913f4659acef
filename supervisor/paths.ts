// Where a user's domains live: one private directory per user holding each
// domain's control socket and its supervisor log.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT, UserError } from '../cli/errors';

export function stateDir(): string {
  if (process.env.VDOMAIN_DIR) return process.env.VDOMAIN_DIR;
  const uid = process.getuid ? process.getuid() : 0;
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && fs.existsSync(xdg)) return path.join(xdg, 'vdomain');
  return path.join(os.tmpdir(), `vdomain-${uid}`);
}

/** Creates the directory 0700 and refuses one that another user owns. */
export function ensureStateDir(): string {
  const dir = stateDir();
  try {
    fs.mkdirSync(path.join(dir, 'log'), { recursive: true, mode: 0o700 });
  } catch (e) {
    checkStateDirOwner();  // another user's directory: say so rather than EACCES
    throw new UserError(`state directory ${dir}: cannot be created (${(e as NodeJS.ErrnoException).code})`, EXIT.STATE_DIR);
  }
  checkStateDirOwner();
  if ((fs.statSync(dir).mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  return dir;
}

/** Refuses a state directory that exists and is not the user's own (its sockets could be anyone's). */
export function checkStateDirOwner() {
  const dir = stateDir();
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    return;
  }
  const uid = process.getuid ? process.getuid() : 0;
  if (st.uid !== uid) throw new UserError(`state directory ${dir} belongs to uid ${st.uid}, not to you`, EXIT.STATE_DIR);
}

export const socketPath = (name: string) => path.join(stateDir(), `${name}.sock`);
export const logPath = (name: string) => path.join(stateDir(), 'log', `${name}.log`);

/** Domain names become file names: keep them plain. */
export function validName(name: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);
}
