// Cluster DNS for a client process on this machine: there is no CoreDNS or kube-proxy here, so a Service's name
// resolves to the address of a ready endpoint of it, read by the test from the Service's EndpointSlice and passed
// in $CONFKUBE_E2E_DNS as {"name": "address"}. Loaded with `node --import` before the client; names not in the
// map resolve as usual.
import { createRequire } from 'node:module';

const dns = createRequire(import.meta.url)('node:dns') as typeof import('node:dns');
const table = JSON.parse(process.env.CONFKUBE_E2E_DNS ?? '{}') as Record<string, string>;
const original = dns.lookup;
type Callback = (err: NodeJS.ErrnoException | null, address: string | { address: string; family: number }[], family?: number) => void;
(dns as { lookup: unknown }).lookup = function lookup(hostname: string, options: unknown, callback?: Callback): void {
  const cb = (typeof options === 'function' ? options : callback) as Callback;
  const opts = (typeof options === 'object' && options !== null ? options : {}) as { all?: boolean };
  const address = table[hostname];
  if (address === undefined) return void (original as (...a: unknown[]) => void)(hostname, options, callback);
  process.nextTick(() => (opts.all ? cb(null, [{ address, family: 4 }]) : cb(null, address, 4)));
};
