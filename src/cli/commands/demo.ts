import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('demo')
    .description('run confkube locally (for now: inspect the bundled sample quote)')
    .action(async () => {
      const { main } = await import('../main.js');
      const sample = new URL('../../../samples/quote.bin', import.meta.url).pathname;
      process.exitCode = await main([process.argv[0], 'confkube', 'quote', 'inspect', sample]);
    });
}
