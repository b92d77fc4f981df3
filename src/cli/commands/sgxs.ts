import type { Command } from 'commander';

export function register(_program: Command): void {
  // commands for 'sgxs' are added by their owner
}
