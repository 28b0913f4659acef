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
    const s = net.connect(sockPath);
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
      server.listen(this.path, () => resolve());
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
    const s = net.connect(sockPath);
    let buf = '';
    s.setEncoding('utf8');
    if (timeoutMs > 0)
      s.setTimeout(timeoutMs, () => {
        s.destroy();
        reject(new Error(`${sockPath}: no answer`));
      });
    s.on('connect', () => {
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
    s.on('error', reject);
    s.on('end', () => {
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
