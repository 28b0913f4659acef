// The compiled native part (node-gyp output), loaded once.
import path from 'node:path';

export interface NativeDomain {
  start(): void;
  virtualize(real: number[]): number[];
  terminate(): void;
  close(): void;
  readonly rootPid: number;
  readonly rootVirt: number;
  readonly keeperPid: number;
}

export interface NativeModule {
  Domain: new (opts: {
    keeper: string;
    argv: string[];
    filter: Buffer;
    rules: readonly object[];
    vpidBase: number;
    onEvent: (type: string, a: number, b: number, text: string) => void;
  }) => NativeDomain;
  peerCred(fd: number): { pid: number; uid: number; gid: number } | null;
}

const buildDir = path.join(__dirname, '..', '..', 'build', 'Release');
export const keeperPath = path.join(buildDir, 'vdomain-keeper');

let loaded: NativeModule | undefined;
export function native(): NativeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require(path.join(buildDir, 'vdomain_native.node')) as NativeModule;
  return loaded;
}
