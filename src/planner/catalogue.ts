import type { Catalogue } from './types.js';
import { PlannerError } from './errors.js';

export const BUILTIN_CATALOGUE: Catalogue = { source: 'built-in', maxPods: 30, reserved: 'aks', sizes: [] };

/** A catalogue file's text (YAML or JSON, docs/planner.md §Catalogue file) → a catalogue. */
export function parseCatalogue(_text: string, _source: string): Catalogue {
  throw new PlannerError('ERR_PLAN_CATALOGUE', 'not implemented yet');
}

/**
 * The built-in catalogue (no path), or a catalogue file read with `readText` (the planner itself reads no
 * files: the CLI passes `fs.readFileSync(path, 'utf8')`).
 */
export function loadCatalogue(path?: string, readText?: (path: string) => string): Catalogue {
  if (path === undefined) return BUILTIN_CATALOGUE;
  if (!readText) throw new PlannerError('ERR_PLAN_CATALOGUE', `catalogue ${path}: no reader given`);
  return parseCatalogue(readText(path), path);
}
