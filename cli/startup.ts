// Loaded first by the vdomain command, before commander: commander requires
// node:child_process at load time for executable subcommands, which vdomain has
// none of, and loading it costs 2.5–4.5 ms of every command's start-up (issue 3's
// budget is 30 ms over `node -e 0`). Commander gets an object that loads the real
// module on first use instead.
import Module from 'node:module';
import path from 'node:path';

type Load = (request: string, parent: { filename?: string } | undefined, isMain: boolean) => unknown;
const loader = Module as unknown as { _load: Load };
const load = loader._load;
const fromCommander = `${path.sep}node_modules${path.sep}commander${path.sep}`;

loader._load = function (request, parent, isMain) {
  if ((request === 'node:child_process' || request === 'child_process') && parent?.filename?.includes(fromCommander)) {
    let real: Record<string | symbol, unknown> | undefined;
    const get = () => (real ??= load.call(this, request, parent, isMain) as Record<string | symbol, unknown>);
    return new Proxy({}, { get: (_t, key) => get()[key], has: (_t, key) => key in get() });
  }
  return load.call(this, request, parent, isMain);
};
