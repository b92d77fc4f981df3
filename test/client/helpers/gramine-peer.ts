// A test peer that plays Gramine's /dev/attestation, laid out as Gramine documents its low-level interface
// (Gramine documentation, "Attestation and Secret Provisioning", `/dev/attestation` pseudo-files):
// `attestation_type` (none | epid | dcap), `user_report_data` (64 bytes, written before reading `quote` or
// `report`), `target_info` and `my_target_info` (512 bytes), `report` (the 432-byte SGX report), `quote`, and
// `keys/<name>` (16-byte raw keys). Gramine computes the quote inside the read; a plain directory cannot, so this
// peer notices each 64-byte write to `user_report_data` and writes the simulated platform's quote for it. Quotes
// chain to the simulated root: only a service in simulation mode trusts them.
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimPlatform, SimQuoteRequest } from '../../../src/sim/index.js';

export interface GraminePeer {
  dir: string;
  /** Every 64-byte report data the app wrote, in order. */
  writes: Uint8Array[];
  close(): void;
}

export function graminePeer(platform: SimPlatform, enclave: Omit<SimQuoteRequest, 'reportData'>, o: { attestationType?: string; answer?: boolean } = {}): GraminePeer {
  const dir = mkdtempSync(join(tmpdir(), 'ck-gramine-'));
  writeFileSync(join(dir, 'attestation_type'), o.attestationType ?? 'dcap');
  writeFileSync(join(dir, 'user_report_data'), new Uint8Array(64));
  writeFileSync(join(dir, 'target_info'), new Uint8Array(512));
  writeFileSync(join(dir, 'my_target_info'), new Uint8Array(512));
  writeFileSync(join(dir, 'report'), new Uint8Array(432));
  mkdirSync(join(dir, 'keys'));
  writeFileSync(join(dir, 'keys', 'default'), new Uint8Array(16));
  // A quote for zero report data, as a fresh enclave would read before writing any.
  writeFileSync(join(dir, 'quote'), platform.quote({ ...enclave, reportData: new Uint8Array(64) }));
  const writes: Uint8Array[] = [];
  let last: Buffer = Buffer.alloc(64);
  const timer = setInterval(() => {
    if (o.answer === false) return;
    let rd: Buffer;
    try {
      rd = readFileSync(join(dir, 'user_report_data'));
    } catch {
      return;
    }
    if (rd.length !== 64 || rd.equals(last)) return;
    last = rd;
    writes.push(new Uint8Array(rd));
    writeFileSync(join(dir, '.quote.tmp'), platform.quote({ ...enclave, reportData: new Uint8Array(rd) }));
    renameSync(join(dir, '.quote.tmp'), join(dir, 'quote'));
  }, 5);
  return {
    dir,
    writes,
    close() {
      clearInterval(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
