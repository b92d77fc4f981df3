import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of a file under test/fixtures/. */
export function fixturePath(rel: string): string {
  return fileURLToPath(new URL(`../fixtures/${rel}`, import.meta.url));
}

export function fixtureBytes(rel: string): Uint8Array {
  const b = readFileSync(fixturePath(rel));
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function fixtureText(rel: string): string {
  return readFileSync(fixturePath(rel), 'utf8');
}

export interface DcapCase {
  id: string;
  kind: string;
  quote: string;
  collateral?: string[];
  collateral_bundle?: string;
  verification_time?: number;
  verification_time_iso?: string;
  expected: Record<string, any>;
  phala_dcap_qvl_0_3_9?: Record<string, any>;
  fields: Record<string, any>;
}

export function dcapCases(): DcapCase[] {
  return JSON.parse(fixtureText('dcap/cases.json')).cases;
}
