import { CollateralError } from './errors.js';
import { fromHex } from '../lib/bytes.js';

/**
 * An Intel PCS JSON body `{"<key>":{…},"signature":"<hex r‖s>"}`. The signature covers the exact bytes of
 * the inner object as served (docs/dcap.md §Signed JSON: slice, never re-serialise), so the raw slice is kept and the
 * parsed object is parsed from that slice — what is decided on is exactly what was signed.
 */
export interface SignedJson<T> {
  body: Uint8Array;
  signed: Uint8Array;
  signature: Uint8Array;
  value: T;
}

/** End index (exclusive) of the JSON object or array starting at `start`. */
function scanValueEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash escape
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

export function parseSignedJson<T>(input: string | Uint8Array, key: string, what: string): SignedJson<T> {
  const body = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  // latin1 keeps byte offsets equal to string offsets, so the slice is the served bytes.
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('latin1');
  let outer: Record<string, unknown>;
  try {
    outer = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw new CollateralError(`${what}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof outer !== 'object' || outer === null || typeof outer[key] !== 'object' || outer[key] === null) {
    throw new CollateralError(`${what}: expected an object with "${key}" and "signature"`);
  }
  if (typeof outer.signature !== 'string' || !/^[0-9a-fA-F]{128}$/.test(outer.signature)) {
    throw new CollateralError(`${what}: "signature" must be 128 hex digits (ECDSA P-256 r‖s)`);
  }
  const keyRe = new RegExp(`^\\s*\\{\\s*"${key}"\\s*:\\s*`);
  let start = -1;
  // The key is at the top level: find `"key"` followed by a colon at depth 1.
  const m = keyRe.exec(text);
  if (m) start = m[0].length;
  else {
    let depth = 0;
    let inString = false;
    for (let i = 0; i < text.length && start < 0; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
      else if (c === '"') {
        if (depth === 1 && text.startsWith(`"${key}"`, i)) {
          const after = /^"[^"]*"\s*:\s*/.exec(text.slice(i));
          if (after) start = i + after[0].length;
        } else inString = true;
      }
    }
  }
  if (start < 0 || text[start] !== '{') throw new CollateralError(`${what}: cannot locate the "${key}" object`);
  const end = scanValueEnd(text, start);
  if (end < 0) throw new CollateralError(`${what}: the "${key}" object is not terminated`);
  const signed = body.subarray(start, end);
  let value: T;
  try {
    value = JSON.parse(new TextDecoder().decode(signed)) as T;
  } catch (e) {
    throw new CollateralError(`${what}: the "${key}" object is not valid JSON (${(e as Error).message})`);
  }
  return { body, signed, signature: fromHex(outer.signature as string, `${what} signature`), value };
}

/** Signature of a `dcap-qvl` bundle entry: the signed text and its hex signature are separate fields. */
export function signedJsonFromParts<T>(signedText: string, signatureHex: string, key: string, what: string): SignedJson<T> {
  if (!/^[0-9a-fA-F]{128}$/.test(signatureHex)) throw new CollateralError(`${what}: signature must be 128 hex digits`);
  const signed = new TextEncoder().encode(signedText);
  let value: T;
  try {
    value = JSON.parse(signedText) as T;
  } catch (e) {
    throw new CollateralError(`${what}: not valid JSON (${(e as Error).message})`);
  }
  const body = new TextEncoder().encode(`{"${key}":${signedText},"signature":"${signatureHex.toLowerCase()}"}`);
  return { body, signed, signature: fromHex(signatureHex), value };
}
