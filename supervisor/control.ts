// The control socket of a domain: one Unix socket per domain in the user's private
// state directory, answering one JSON request per connection. Both ends check the
// other's credentials: only the same user may talk to a supervisor.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { native } from './native';
import { socketPath, stateDir } from './paths';

export type Request = { op: 'list' } | { op: 'checkpoint'; output: string; kill?: boolean };
/** ctx.closed(): the client went away (Ctrl-C on `vdomain checkpoint`) */
export type Handler = (req: Request, ctx: { closed: () => boolean }) => unknown;

/** An error from the supervisor, with the exit status the client should use. */
export class RemoteError extends Error {
  constructor(message: string, readonly exitCode?: number, readonly details?: string[]) {
    super(message);
  }
}

/** The domain's supervisor ended (or dropped the connection) before it answered. */
export class SupervisorGoneError extends Error {}

/**
 * A Unix socket's path may not exceed 107 bytes (sun_path) and a state directory may
 * be longer: bind and connect through /proc/self/fd/N, a handle on the socket's
 * directory, so the path the kernel sees stays short. Both happen synchronously in
 * `use`, while the handle is open.
 */
function viaDirHandle<T>(sockPath: string, use: (shortPath: string) => T): T {
  const fd = fs.openSync(path.dirname(sockPath), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return use(`/proc/self/fd/${fd}/${path.basename(sockPath)}`);
  } finally {
    fs.closeSync(fd);
  }
}

const myUid = () => (process.getuid ? process.getuid() : 0);

function peerUid(sock: net.Socket): number | undefined {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return undefined;
  return native().peerCred(fd)?.uid;
}

function socketOwner(sockPath: string): number | undefined {
  try {
    return fs.statSync(sockPath).uid;
  } catch {
    return undefined;
  }
}

/** Is a supervisor answering on this socket path? */
export function probe(sockPath: string, timeoutMs = 1000): Promise<'live' | 'stale' | 'absent'> {
  return new Promise((resolve) => {
    if (!fs.existsSync(sockPath)) return resolve('absent');
    let s: net.Socket;
    try {
      s = viaDirHandle(sockPath, (p) => net.connect(p));
    } catch {
      return resolve('stale');
    }
    const done = (r: 'live' | 'stale' | 'absent') => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done('stale'));
    s.on('connect', () => done('live'));
    s.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ENOENT' ? 'absent' : 'stale'));
  });
}

export class ControlServer {
  private server?: net.Server;
  constructor(readonly name: string, private readonly handler: Handler) {}

  get path() {
    return socketPath(this.name);
  }

  /** Claims the name; false when a live supervisor already has it. */
  async listen(): Promise<boolean> {
    const state = await probe(this.path);
    if (state === 'live') return false;
    if (state === 'stale') fs.rmSync(this.path, { force: true });
    const server = net.createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // made 0600 as it is bound (the directory is 0700 too): no peer ever sees it open
      const umask = process.umask(0o177);
      try {
        viaDirHandle(this.path, (p) => server.listen(p, () => resolve()));
      } finally {
        process.umask(umask);
      }
    });
    fs.chmodSync(this.path, 0o600);
    server.unref(); // the domain, not the socket, keeps the supervisor alive
    this.server = server;
    return true;
  }

  private serve(sock: net.Socket) {
    if (peerUid(sock) !== myUid()) {
      sock.destroy();
      return;
    }
    let buf = '';
    let closed = false;
    let started = false;
    sock.setEncoding('utf8');
    sock.on('error', () => sock.destroy());
    sock.on('close', () => (closed = true));
    sock.on('data', async (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0 || started) return;
      started = true;
      let reply: unknown;
      try {
        reply = { ok: true, result: await this.handler(JSON.parse(buf.slice(0, nl)) as Request, { closed: () => closed }) };
      } catch (e) {
        const err = e as Error & { exitCode?: number; details?: string[] };
        reply = { ok: false, error: err.message, code: err.exitCode, details: err.details };
      }
      if (!closed) sock.end(JSON.stringify(reply) + '\n');
    });
  }

  close() {
    this.server?.close();
    fs.rmSync(this.path, { force: true });
  }
}

/** Sends one request to a supervisor and returns its answer. */
export function request(sockPath: string, req: Request, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const s = viaDirHandle(sockPath, (p) => net.connect(p));
    let buf = '';
    let connected = false;
    s.setEncoding('utf8');
    if (timeoutMs > 0)
      s.setTimeout(timeoutMs, () => {
        s.destroy();
        reject(new Error(`${sockPath}: no answer`));
      });
    s.on('connect', () => {
      connected = true;
      // the socket is in the user's own state directory; its owner is who bound it
      // (a stat, not SO_PEERCRED: the client need not load the native module)
      if (socketOwner(sockPath) !== myUid()) {
        s.destroy();
        reject(new Error(`${sockPath}: answered by another user`));
        return;
      }
      s.write(JSON.stringify(req) + '\n');
    });
    s.on('data', (c: string) => (buf += c));
    const gone = () => new SupervisorGoneError(`${sockPath}: the domain's supervisor ended before it answered`);
    // once connected, a reset is the supervisor going away (killed mid-checkpoint)
    s.on('error', (e) => reject(connected ? gone() : e));
    s.on('end', () => {
      if (!buf) return reject(gone());
      try {
        const msg = JSON.parse(buf) as { ok: boolean; result?: unknown; error?: string; code?: number; details?: string[] };
        if (msg.ok) resolve(msg.result);
        else reject(new RemoteError(msg.error ?? 'failed', msg.code, msg.details));
      } catch {
        reject(new Error(`${sockPath}: garbled answer`));
      }
    });
  });
}

/** Socket paths of the user's domains (live or stale). */
export function domainSockets(): { name: string; path: string }[] {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(stateDir());
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.endsWith('.sock'))
    .map((e) => ({ name: e.slice(0, -5), path: path.join(stateDir(), e) }));
}
