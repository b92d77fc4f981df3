import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { checkApiVersion, supportsNonce } from '../api-version.js';
import { decodeBase64Lenient } from '../base64.js';
import { AttestationError, badRequest, cloudError } from '../errors.js';
import { ATTESTATION_TYPES, type AttestationType } from '../policies.js';
import type { RuntimeInput } from '../claims.js';
import { requireJson } from './content-type.js';
import { jsonDeeperThan, MAX_DATA_CHARS, MAX_EVIDENCE_CHARS, MAX_JSON_DEPTH, MAX_POLICY_CHARS } from '../request-limits.js';

const dataSchema = {
  type: 'object',
  properties: { data: { type: 'string', maxLength: MAX_DATA_CHARS }, dataType: { type: 'string', maxLength: 16 } },
} as const;

/** MAA's AttestSgxEnclaveRequest / AttestOpenEnclaveRequest (docs/attestation.md §Attest request), with the pre-GA capitalised aliases. */
const bodySchema = {
  type: 'object',
  properties: {
    quote: { type: 'string', maxLength: MAX_EVIDENCE_CHARS }, report: { type: 'string', maxLength: MAX_EVIDENCE_CHARS }, Quote: { type: 'string', maxLength: MAX_EVIDENCE_CHARS },
    runtimeData: dataSchema, initTimeData: dataSchema,
    EnclaveHeldData: { type: 'string', maxLength: MAX_DATA_CHARS },
    draftPolicyForAttestation: { type: 'string', maxLength: MAX_POLICY_CHARS },
    nonce: { type: 'string', maxLength: 1024 },
  },
} as const;

interface AttestBody {
  quote?: string; report?: string; Quote?: string;
  runtimeData?: { data?: string; dataType?: string };
  initTimeData?: { data?: string; dataType?: string };
  EnclaveHeldData?: string;
  draftPolicyForAttestation?: string;
  nonce?: string;
}

/** Empty strings mean absent: faasm sends `"initTimeData":{"data":"","dataType":""}` (docs/attestation.md §Attest request). */
function dataInput(v: { data?: string; dataType?: string } | undefined, field: string): RuntimeInput | undefined {
  if (!v || v.data === undefined || v.data === '') return undefined;
  const data = decodeBase64Lenient(v.data, `${field}.data`);
  const dt = v.dataType === undefined || v.dataType === '' ? 'Binary' : v.dataType;
  if (dt === 'Binary') return { data, dataType: 'Binary' };
  if (dt === 'JSON') {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(data).toString('utf8'));
    } catch (e) {
      throw badRequest(`${field}: dataType JSON but the data is not JSON (${(e as Error).message})`);
    }
    // Claims, policies and the token walk this document recursively.
    if (jsonDeeperThan(json, MAX_JSON_DEPTH)) throw badRequest(`${field}.data: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    return { data, dataType: 'JSON', json };
  }
  throw badRequest(`${field}.dataType: ${JSON.stringify(dt)} is neither "Binary" nor "JSON"`);
}

export function attestRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post<{ Params: { type: string }; Querystring: Record<string, string>; Body: AttestBody }>('/attest/:type', {
    schema: {
      params: { type: 'object', properties: { type: { type: 'string' } }, required: ['type'] },
      querystring: { type: 'object', properties: { 'api-version': { type: 'string' } } },
      body: bodySchema,
    },
    preValidation: requireJson,
  }, async (req, reply) => {
    const started = process.hrtime.bigint();
    const type = req.params.type as AttestationType;
    if (!(ATTESTATION_TYPES as readonly string[]).includes(type)) {
      throw new AttestationError(400, 'InvalidAttestationType', `attestation type ${JSON.stringify(req.params.type.slice(0, 40))} is not supported here (SgxEnclave, OpenEnclave)`);
    }
    const apiVersion = checkApiVersion(req.query['api-version']);
    const b = req.body;
    const field = type === 'OpenEnclave' ? 'report' : 'quote';
    const evidenceText = (type === 'OpenEnclave' ? b.report : (b.quote ?? b.Quote)) ?? '';
    if (evidenceText === '') throw badRequest(`${field}: missing`);
    const evidence = decodeBase64Lenient(evidenceText, field);
    const runtime = dataInput(b.runtimeData, 'runtimeData') ?? (b.EnclaveHeldData ? { data: decodeBase64Lenient(b.EnclaveHeldData, 'EnclaveHeldData'), dataType: 'Binary' as const } : undefined);
    const initTime = dataInput(b.initTimeData, 'initTimeData');
    const outcome = await ctx.attester.attest({
      type, evidence,
      ...(runtime ? { runtime } : {}),
      ...(initTime ? { initTime } : {}),
      ...(b.draftPolicyForAttestation ? { draftPolicy: b.draftPolicyForAttestation } : {}),
      ...(b.nonce !== undefined && b.nonce !== '' && supportsNonce(apiVersion) ? { nonce: b.nonce } : {}),
    });
    // The decision is durable before anyone sees it (issue 6: no answered attestation without its audit record).
    await ctx.store.appendAudit({ time: ctx.now(), clientAddress: req.ip, ...outcome.audit });
    ctx.metrics.attestations.inc({ type, decision: outcome.audit.decision, tcb_status: outcome.audit.tcbStatus ?? 'none', simulated: String(outcome.audit.simulated) });
    ctx.metrics.latency.observe({ type }, Number(process.hrtime.bigint() - started) / 1e9);
    if (!outcome.ok) return reply.code(outcome.error.status).send(cloudError(outcome.error.maaCode, outcome.error.message));
    return { token: outcome.token };
  });
}
