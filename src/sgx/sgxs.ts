import { createHash } from 'node:crypto';
import { ByteReader } from '../lib/bytes.js';
import { ConfkubeError } from '../lib/errors.js';

export class SgxsError extends ConfkubeError {}

export interface SgxsMeasurement {
  mrEnclave: Uint8Array;
  pages: number;
  size: bigint;
  ssaFrameSize: number;
  measuredChunks: number;
}

const TAG = (s: string) => Buffer.from(s.padEnd(8, '\0'), 'latin1');
const ECREATE = TAG('ECREATE');
const EADD = TAG('EADD');
const EEXTEND = TAG('EEXTEND');

function tagIs(b: Uint8Array, tag: Buffer): boolean {
  for (let i = 0; i < 8; i++) if (b[i] !== tag[i]) return false;
  return true;
}

/**
 * MRENCLAVE from a measurement stream (`.sgxs`, rust-sgx doc/SGXS.md; spec sigstruct-epc.md §1.4): 64-byte
 * ECREATE, then per page EADD and EEXTEND blocks, each EEXTEND followed by its 256 data bytes. The stream is
 * parsed and checked (ECREATE first and once, EEXTEND offsets 256-aligned inside a page that was added and
 * inside the enclave, reserved bytes zero) while it is hashed.
 */
export function measureSgxs(stream: Uint8Array): SgxsMeasurement {
  const r = new ByteReader(stream, 'ERR_SGXS_TRUNCATED', '.sgxs stream');
  const h = createHash('sha256');
  if (stream.length === 0) throw new SgxsError('ERR_SGXS_FORMAT', '.sgxs stream is empty: it must start with ECREATE');
  const first = r.bytes(64, 'ECREATE block');
  if (!tagIs(first, ECREATE)) throw new SgxsError('ERR_SGXS_FORMAT', '.sgxs stream does not start with an ECREATE block at offset 0');
  const dv = new DataView(first.buffer, first.byteOffset, 64);
  const ssaFrameSize = dv.getUint32(8, true);
  const size = dv.getBigUint64(12, true);
  if (size === 0n || (size & (size - 1n)) !== 0n) throw new SgxsError('ERR_SGXS_FORMAT', `ECREATE size 0x${size.toString(16)} at offset 12 is not a power of two`);
  if (ssaFrameSize === 0) throw new SgxsError('ERR_SGXS_FORMAT', 'ECREATE SSA frame size at offset 8 is 0');
  h.update(first);
  const added = new Set<bigint>();
  let pages = 0;
  let measuredChunks = 0;
  while (r.remaining > 0) {
    const at = r.pos;
    const blk = r.bytes(64, 'measurement block');
    const bv = new DataView(blk.buffer, blk.byteOffset, 64);
    const off = bv.getBigUint64(8, true);
    if (tagIs(blk, EADD)) {
      if (off % 4096n !== 0n || off >= size) throw new SgxsError('ERR_SGXS_FORMAT', `EADD at offset ${at}: page offset 0x${off.toString(16)} is not a page inside the 0x${size.toString(16)}-byte enclave`);
      if (added.has(off)) throw new SgxsError('ERR_SGXS_FORMAT', `EADD at offset ${at}: page 0x${off.toString(16)} added twice`);
      added.add(off);
      pages++;
      h.update(blk);
    } else if (tagIs(blk, EEXTEND)) {
      if (off % 256n !== 0n || !added.has(off - (off % 4096n))) {
        throw new SgxsError('ERR_SGXS_FORMAT', `EEXTEND at offset ${at}: chunk 0x${off.toString(16)} is not 256-aligned inside an added page`);
      }
      for (let i = 16; i < 64; i++) if (blk[i] !== 0) throw new SgxsError('ERR_SGXS_FORMAT', `EEXTEND at offset ${at}: reserved byte ${i} is not zero`);
      h.update(blk);
      h.update(r.bytes(256, 'EEXTEND data'));
      measuredChunks++;
    } else if (tagIs(blk, ECREATE)) {
      throw new SgxsError('ERR_SGXS_FORMAT', `second ECREATE at offset ${at}`);
    } else {
      throw new SgxsError('ERR_SGXS_FORMAT', `unknown measurement block at offset ${at} (expected EADD or EEXTEND)`);
    }
  }
  return { mrEnclave: new Uint8Array(h.digest()), pages, size, ssaFrameSize, measuredChunks };
}
