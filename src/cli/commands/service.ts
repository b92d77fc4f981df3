import type { Command } from 'commander';

export function register(_program: Command): void {
  // commands for 'service' are added by their owner
}
