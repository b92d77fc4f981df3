/**
 * The benchmarks' timing loop: warm up, then run `fn` in batches until `seconds` have passed, and print the
 * rate. Rates are only compared with an anchor measured in the same run (the ratio is the result).
 */
let sink = 0;

/** `--seconds N` from the command line, else the default. */
export function benchSeconds(defaultSeconds: number): number {
  const args = process.argv.slice(2);
  const i = args.indexOf('--seconds');
  return (i >= 0 ? Number(args[i + 1]) : 0) || defaultSeconds;
}

export interface BenchOptions {
  seconds: number;
  /** Calls before timing starts (JIT, caches). */
  warmup?: number;
  /** Calls between two clock reads. */
  batch?: number;
  /** Width of the name column. */
  width?: number;
}

/** Operations per second of `fn`; a truthy result is consumed so the call cannot be optimised away. */
export function bench(name: string, fn: () => unknown, o: BenchOptions): number {
  const warmup = o.warmup ?? 20;
  const batch = o.batch ?? 5;
  for (let i = 0; i < warmup; i++) if (fn()) sink++;
  let n = 0;
  const limit = BigInt(Math.round(o.seconds * 1e9));
  const t0 = process.hrtime.bigint();
  while (process.hrtime.bigint() - t0 < limit) {
    for (let i = 0; i < batch; i++) if (fn()) sink++;
    n += batch;
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = n / s;
  const us = (1e6 * s) / n;
  console.log(`${name.padEnd(o.width ?? 60)} ${rate.toFixed(0).padStart(9)} ops/s  (${us.toFixed(us < 10 ? 2 : 1)} µs/op)`);
  return rate;
}

/** Keeps the consumed results observable (call once at the end of a benchmark). */
export function benchSink(): number {
  return sink;
}

/**
 * Operations per second of an asynchronous `fn` kept `concurrency` calls in flight (requests to a server): warm up,
 * then time for `seconds`. A rejected call stops the run: a benchmark that fails is not a number.
 */
export async function benchAsync(name: string, fn: () => Promise<unknown>, o: BenchOptions & { concurrency: number }): Promise<number> {
  const warmup = o.warmup ?? 20;
  for (let i = 0; i < warmup; i++) if (await fn()) sink++;
  let n = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.round(o.seconds * 1e9));
  const worker = async (): Promise<void> => {
    while (process.hrtime.bigint() - t0 < limit) {
      if (await fn()) sink++;
      n++;
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = n / s;
  const ms = (1e3 * s * o.concurrency) / n;
  console.log(`${name.padEnd(o.width ?? 60)} ${rate.toFixed(0).padStart(9)} ops/s  (${ms.toFixed(1)} ms/op at ${o.concurrency} in flight)`);
  return rate;
}
