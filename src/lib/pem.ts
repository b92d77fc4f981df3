/** PEM (RFC 7468) in and out: the one place confkube reads or writes the armour. */

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** DER blocks of a PEM text, with their labels, in order. */
export function pemBlocks(text: string): { label: string; der: Uint8Array }[] {
  const out: { label: string; der: Uint8Array }[] = [];
  for (const m of text.matchAll(PEM_RE)) {
    const b = Buffer.from(m[2].replace(/\s+/g, ''), 'base64');
    out.push({ label: m[1], der: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) });
  }
  return out;
}

/** The DER of every block with this label. */
export function pemDecode(text: string, label = 'CERTIFICATE'): Uint8Array[] {
  return pemBlocks(text).filter((b) => b.label === label).map((b) => b.der);
}

/** Whether the first 4 KiB hold a PEM armour line. */
export function isPem(b: Uint8Array): boolean {
  return Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, 4096)).toString('latin1').includes('-----BEGIN ');
}

/** One PEM block: base64 in 64-character lines, newline-terminated. */
export function toPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const lines = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
