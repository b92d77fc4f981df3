import { ConfkubeError } from '../lib/errors.js';

/** A refused release: `status` is the HTTP status (400 bad request/token, 403 policy, 404 unknown key). */
export class KeyReleaseError extends ConfkubeError {
  readonly status: number;
  readonly maaCode: string;
  constructor(status: number, maaCode: string, message: string) {
    super(status === 403 ? 'ERR_RELEASE_DENIED' : 'ERR_RELEASE_REQUEST', message);
    this.status = status;
    this.maaCode = maaCode;
  }
}
