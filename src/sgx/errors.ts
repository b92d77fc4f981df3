import { ConfkubeError } from '../lib/errors.js';

/** A quote that cannot be parsed: truncated, unknown version, unsupported key or TEE type. */
export class QuoteFormatError extends ConfkubeError {}

/** The PCK certificate or its SGX extension is malformed. */
export class PckExtensionError extends ConfkubeError {}
