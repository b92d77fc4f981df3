import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { isConfkubeError } from '../lib/errors.js';
import { MetricsRequestError } from './errors.js';
import { GROUP, handleMetrics, status, type ApiAnswer, type ApiDeps } from './custom-metrics.js';

/** What the aggregator says about the user it proxies for (requestheader authentication). */
export interface RemoteUser {
  name: string;
  groups: string[];
}

/** The request as an authorizer sees it (the SubjectAccessReview's attributes). */
export interface RequestAttributes {
  path: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource?: string;
}

export interface MetricsServerOptions extends ApiDeps {
  tls: { key: string | Buffer; cert: string | Buffer };
  /** The requestheader client CA (front-proxy CA): only the aggregator's client certificate is accepted. */
  clientCa: string | Buffer;
  /** Common names the client certificate may carry (--requestheader-allowed-names); empty: any from the CA. */
  allowedNames: string[];
  usernameHeaders?: string[];
  groupHeaders?: string[];
  /** Whether the remote user may read this; omitted: every authenticated aggregator request is allowed. */
  authorize?: (user: RemoteUser, attrs: RequestAttributes) => Promise<boolean>;
  log?: (line: string) => void;
}

function send(res: ServerResponse, a: ApiAnswer): void {
  const body = JSON.stringify(a.body);
  res.writeHead(a.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Authenticates a request as kube-apiserver's aggregator sends it: a client certificate that chains to the
 * requestheader CA with an allowed common name, the user in X-Remote-User and groups in X-Remote-Group
 * (docs/autoscale.md §Authentication). Anything else is 401, before any header is believed.
 */
export function remoteUser(req: IncomingMessage, o: Pick<MetricsServerOptions, 'allowedNames' | 'usernameHeaders' | 'groupHeaders'>): RemoteUser | string {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return `no client certificate from the requestheader CA (${socket.authorizationError ? String(socket.authorizationError) : 'none sent'})`;
  const cn = socket.getPeerCertificate().subject?.CN;
  const cnValue = Array.isArray(cn) ? cn[0] : cn;
  if (o.allowedNames.length > 0 && (!cnValue || !o.allowedNames.includes(cnValue))) return `client certificate CN ${JSON.stringify(cnValue)} is not an allowed requestheader name`;
  // Each group is its own header line; req.headers would join them with ", " into one.
  const header = (names: string[]): string[] => names.flatMap((n) => req.headersDistinct[n.toLowerCase()] ?? []);
  const name = header(o.usernameHeaders ?? ['X-Remote-User'])[0];
  if (!name) return 'the aggregator sent no user (X-Remote-User)';
  return { name, groups: header(o.groupHeaders ?? ['X-Remote-Group']) };
}

export function requestAttributes(path: string): RequestAttributes {
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts[1] !== GROUP || parts[3] !== 'namespaces' || parts.length !== 8) return { path };
  return { path, namespace: parts[4], resource: parts[5], name: parts[6], subresource: parts[7] };
}

export function createMetricsServer(o: MetricsServerOptions): Server {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://adapter');
    if (url.pathname === '/healthz' || url.pathname === '/livez' || url.pathname === '/readyz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const user = remoteUser(req, o);
    if (typeof user === 'string') return send(res, status(401, 'Unauthorized', user));
    if (req.method !== 'GET') return send(res, status(405, 'MethodNotAllowed', `${req.method} is not supported: ${GROUP} is read-only`));
    if (url.pathname === '/apis' || url.pathname === '/api') {
      // No aggregated discovery document: the aggregator falls back to /apis/{group}/{version}.
      return send(res, status(404, 'NotFound', `${url.pathname}: discovery is per group version`));
    }
    const attrs = requestAttributes(url.pathname);
    // Discovery documents carry no data and every authenticated user may read them (RBAC's system:discovery);
    // the aggregator fetches them as system:kube-aggregator with no groups, which a review would refuse.
    if (attrs.resource && o.authorize && !(await o.authorize(user, attrs))) {
      const what = attrs.resource ? `${attrs.resource}/${attrs.subresource} in namespace ${attrs.namespace}` : attrs.path;
      return send(res, status(403, 'Forbidden', `user ${JSON.stringify(user.name)} cannot get ${GROUP} ${what}`));
    }
    send(res, await handleMetrics(url.pathname, url.searchParams, o));
  };
  return createServer({ key: o.tls.key, cert: o.tls.cert, ca: o.clientCa, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof MetricsRequestError) return send(res, status(e.status, e.status === 400 ? 'BadRequest' : 'NotFound', e.message));
      o.log?.(`metrics request ${req.url}: ${isConfkubeError(e) ? `${e.code}: ` : ''}${(e as Error).message}`);
      send(res, status(503, 'ServiceUnavailable', `${isConfkubeError(e) ? e.code : 'error'}: ${(e as Error).message}`));
    });
  });
}
