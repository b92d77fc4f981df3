import type { AttestationStore } from './deps.js';
import { ConfkubeError } from '../lib/errors.js';

/** A store that holds simulated material opened by a service with simulation off. */
export class SimulatedStoreError extends ConfkubeError {
  constructor(message: string) {
    super('ERR_STORE_SIMULATED', message);
  }
}

const SETTING = 'simulation';

/**
 * A store a simulation-mode service has used holds simulated material: signing keys that signed tokens for
 * simulated quotes, simulated collateral (docs/key-protection.md). A production service must not publish those
 * keys or serve that collateral, so with simulation off such a store is refused. The mark is written the first
 * time a simulation-mode service opens the store; a store from before the mark is judged by its audit log.
 */
export async function checkSimulationMark(store: AttestationStore, simulation: boolean, where: string): Promise<void> {
  let mark = await store.getSetting(SETTING);
  if (mark === null) {
    mark = simulation || (await store.hasSimulatedAudit()) ? 'used' : 'never';
    await store.putSetting(SETTING, mark);
  }
  if (simulation && mark !== 'used') await store.putSetting(SETTING, 'used');
  if (!simulation && mark === 'used') {
    throw new SimulatedStoreError(`store ${where} holds simulated material (a simulation-mode service such as \`confkube demo\` used it: its signing keys signed simulated tokens); with simulation off use a store of its own`);
  }
}
