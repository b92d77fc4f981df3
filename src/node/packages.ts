/**
 * SGX PSW / DCAP package versions from dpkg's status database (Debian/Ubuntu nodes, the AKS node
 * image) — the packages Intel ships as `libsgx-*`, `sgx-aesm-service`, `sgx-*`, and Azure's
 * `az-dcap-client` (docs/node.md §Quote helper).
 */
const SGX_PACKAGE = /^(libsgx-|sgx-|az-dcap-client$)/;

export function parseDpkgStatus(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const stanza of text.split(/\n\s*\n/)) {
    let name: string | null = null;
    let version: string | null = null;
    let installed = false;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('Package: ')) name = line.slice(9).trim();
      else if (line.startsWith('Version: ')) version = line.slice(9).trim();
      else if (line.startsWith('Status: ')) installed = / installed$/.test(line.trim());
    }
    if (name && version && installed && SGX_PACKAGE.test(name)) out[name] = version;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
