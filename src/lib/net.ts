// Used by `confkube demo --port 0`, the tests and the benchmarks.
import { createServer } from 'node:net';

/** A port free on 127.0.0.1 right now (servers started by tests never use fixed ports). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
