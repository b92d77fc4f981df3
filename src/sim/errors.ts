import { ConfkubeError } from '../lib/errors.js';

/** Bad input to the simulated platform (a field of the wrong size, an unknown status, …). */
export class SimInputError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_SIM_INPUT', message);
  }
}

/** A platform directory that cannot be loaded (missing file, keys that do not match the seed). */
export class SimPlatformError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_SIM_PLATFORM', message);
  }
}
