import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const childScript = fileURLToPath(new URL('./child.ts', import.meta.url));

export interface StoreChild {
  child: ChildProcess;
  /** Complete lines printed so far. */
  lines: string[];
  stderr(): string;
  /** Resolves when some line satisfies PRED (or rejects if the child exits first). */
  waitFor(pred: (lines: string[]) => boolean): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill9(): Promise<void>;
}

/** test/store/helpers/child.ts in its own Node process (TypeScript through tsx). */
export function spawnStoreChild(args: string[]): StoreChild {
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close': stdout has been read to the end, so every printed line is in `lines`.
    child.once('close', (code, signal) => {
      for (const w of waiters) w();
      resolve({ code, signal });
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    child, lines, exited,
    stderr: () => err,
    waitFor(pred) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (pred(lines)) { waiters.delete(check); resolve(); } else if (done || child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check);
            reject(new Error(`store child ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before the expected output; stdout: ${lines.slice(-5).join(' | ')}; stderr: ${err}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
