// A store client in its own process, driven by the process tests. Modes:
//   append URL K        K concurrent loops of appendAudit; prints "<id> <tokenId>" only after appendAudit resolved
//   watch URL TYPE      prints "ready <policyVersion>", then the policy of TYPE as JSON each time policyVersion changes
//   set-policy URL TYPE TEXT   sets a policy, prints it as JSON, exits
//   open URL            opens (and so migrates) the store, prints "migrated", exits
import { openStore } from '../../../src/store/index.js';

const [mode, url, a1, a2] = process.argv.slice(2);
const store = await openStore(url!);

if (mode === 'append') {
  let n = 0;
  const loop = async (): Promise<never> => {
    for (;;) {
      const tokenId = `${process.pid}-${n++}`;
      const id = await store.appendAudit({
        time: Date.now(), clientAddress: '127.0.0.1', attestationType: 'SgxEnclave', mrEnclave: 'aa'.repeat(32), mrSigner: 'bb'.repeat(32),
        tcbStatus: 'UpToDate', decision: 'permit', policyHash: 'ph', tokenId, simulated: true,
      });
      process.stdout.write(`${id} ${tokenId}\n`);
    }
  };
  await Promise.all(Array.from({ length: Number(a1 ?? 1) }, loop));
} else if (mode === 'watch') {
  let v = await store.policyVersion();
  process.stdout.write(`ready ${v}\n`);
  for (;;) {
    await new Promise((r) => setTimeout(r, 20));
    const now = await store.policyVersion();
    if (now !== v) {
      v = now;
      process.stdout.write(`${JSON.stringify(await store.getPolicy(a1!))}\n`);
    }
  }
} else if (mode === 'set-policy') {
  const rec = await store.setPolicy({ attestationType: a1!, text: a2!, jws: `jws:${a2}`, hash: `hash:${a2}`, setAt: Date.now(), setBy: `pid:${process.pid}` });
  process.stdout.write(`${JSON.stringify(rec)}\n`);
  await store.close();
} else if (mode === 'open') {
  process.stdout.write('migrated\n');
  await store.close();
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
