// The test cluster's PKI, made with openssl the way kubeadm lays it out (docs/e2e.md §PKI): one cluster CA for
// serving and client certificates, a front-proxy CA for the aggregation layer, the service-account signing key,
// and etcd's serving and client certificates. ECDSA P-256 keeps generation under a second.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  ca: string;
  caKey: string;
  frontProxyCa: string;
  /** Absolute paths by certificate name: `${name}.crt` and `${name}.key`. */
  cert(name: string): { cert: string; key: string };
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, name: string): void {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`], dir);
}

function selfSignedCa(dir: string, name: string, cn: string): void {
  newKey(dir, name);
  openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '2', '-out', `${name}.crt`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], dir);
}

interface Leaf {
  name: string;
  subject: string;
  ca: string;
  usage: 'server' | 'client' | 'both';
  sans?: string[];
}

function leaf(dir: string, l: Leaf): void {
  newKey(dir, l.name);
  openssl(['req', '-new', '-key', `${l.name}.key`, '-subj', l.subject, '-out', `${l.name}.csr`], dir);
  const eku = l.usage === 'server' ? 'serverAuth' : l.usage === 'client' ? 'clientAuth' : 'serverAuth,clientAuth';
  const ext = [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${eku}`,
    ...(l.sans?.length ? [`subjectAltName=${l.sans.join(',')}`] : []),
  ].join('\n');
  writeFileSync(join(dir, `${l.name}.ext`), `${ext}\n`);
  openssl(['x509', '-req', '-in', `${l.name}.csr`, '-CA', `${l.ca}.crt`, '-CAkey', `${l.ca}.key`, '-CAcreateserial',
    '-days', '2', '-extfile', `${l.name}.ext`, '-out', `${l.name}.crt`], dir);
}

/** Makes every certificate the control plane needs; `extraIps` are the API server's non-loopback addresses. */
export function makePki(dir: string, extraIps: string[]): Pki {
  mkdirSync(dir, { recursive: true });
  selfSignedCa(dir, 'ca', 'confkube-e2e-ca');
  selfSignedCa(dir, 'front-proxy-ca', 'confkube-e2e-front-proxy-ca');
  const apiSans = ['DNS:localhost', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc',
    'DNS:kubernetes.default.svc.cluster.local', 'IP:127.0.0.1', 'IP:10.0.0.1', ...extraIps.map((ip) => `IP:${ip}`)];
  const leaves: Leaf[] = [
    { name: 'apiserver', subject: '/CN=kube-apiserver', ca: 'ca', usage: 'server', sans: apiSans },
    { name: 'etcd-server', subject: '/CN=etcd', ca: 'ca', usage: 'both', sans: ['DNS:localhost', 'IP:127.0.0.1'] },
    { name: 'apiserver-etcd-client', subject: '/CN=kube-apiserver-etcd-client', ca: 'ca', usage: 'client' },
    { name: 'admin', subject: '/O=system:masters/CN=confkube-e2e-admin', ca: 'ca', usage: 'client' },
    { name: 'controller-manager', subject: '/CN=system:kube-controller-manager', ca: 'ca', usage: 'client' },
    { name: 'scheduler', subject: '/CN=system:kube-scheduler', ca: 'ca', usage: 'client' },
    { name: 'front-proxy-client', subject: '/CN=front-proxy-client', ca: 'front-proxy-ca', usage: 'client' },
  ];
  for (const l of leaves) leaf(dir, l);
  // The service-account token key pair (ES256 is accepted by the API server's token signer).
  newKey(dir, 'sa');
  openssl(['ec', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    frontProxyCa: join(dir, 'front-proxy-ca.crt'),
    cert: (name) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) }),
  };
}

/** A kubeconfig with a client certificate (embedded, so the file can be handed to another process as is). */
export function certKubeconfig(server: string, caFile: string, user: string, certFile: string, keyFile: string): string {
  const b64 = (f: string): string => readFileSync(f).toString('base64');
  return kubeconfigYaml(server, b64(caFile), user, { 'client-certificate-data': b64(certFile), 'client-key-data': b64(keyFile) });
}

/** A kubeconfig with a bearer token (a ServiceAccount's, as a pod would have it). */
export function tokenKubeconfig(server: string, caFile: string, user: string, token: string): string {
  return kubeconfigYaml(server, readFileSync(caFile).toString('base64'), user, { token });
}

function kubeconfigYaml(server: string, caData: string, user: string, credentials: Record<string, string>): string {
  const cred = Object.entries(credentials).map(([k, v]) => `    ${k}: ${v}`).join('\n');
  return `apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: ${server}
    certificate-authority-data: ${caData}
users:
- name: ${user}
  user:
${cred}
contexts:
- name: e2e
  context:
    cluster: e2e
    user: ${user}
current-context: e2e
`;
}
