/**
 * Patches are checked against the object they were made for with the webhook's own RFC 6902 applier, which
 * applies them as strictly as the API server does (`add` under a missing parent, `remove` of a missing member fail).
 */
export { applyJsonPatch as applyPatch, type JsonPatchOp as Op } from '../../src/admission/json-patch.js';
