import type { FastifyRequest } from 'fastify';
import { AttestationError } from '../errors.js';

function mediaType(req: FastifyRequest): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** 415 with MAA's error body when the body is not JSON (the parser would otherwise accept text/plain). */
export async function requireJson(req: FastifyRequest): Promise<void> {
  if (mediaType(req) !== 'application/json') throw new AttestationError(415, 'UnsupportedMediaType', `content-type ${JSON.stringify(mediaType(req))}: expected application/json`);
}

/** Policy documents travel as raw compact JWS in text/plain (docs/attestation.md §Policy management). */
export async function requireText(req: FastifyRequest): Promise<void> {
  const t = mediaType(req);
  if (t !== 'text/plain' && t !== 'application/jwt' && t !== 'application/json') throw new AttestationError(415, 'UnsupportedMediaType', `content-type ${JSON.stringify(t)}: expected text/plain`);
}
