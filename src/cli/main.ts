import { Command, CommanderError } from 'commander';
import { ConfkubeError } from '../lib/errors.js';
import { CONFKUBE_VERSION } from '../lib/version.js';
import { EXIT_USAGE, UsageError } from './util.js';
import { register as registerQuote } from './commands/quote.js';
import { register as registerSigstruct } from './commands/sigstruct.js';
import { register as registerSgxs } from './commands/sgxs.js';
import { register as registerSim } from './commands/sim.js';
import { register as registerPolicy } from './commands/policy.js';
import { register as registerService } from './commands/service.js';
import { register as registerNode } from './commands/node.js';
import { register as registerWebhook } from './commands/webhook.js';
import { register as registerDemo } from './commands/demo.js';
import { register as registerAutoscale } from './commands/autoscale.js';
import { register as registerEpc } from './commands/epc.js';
import { register as registerPlan } from './commands/plan.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('confkube')
    .description('Confidential computing for Kubernetes clusters with Intel SGX machines')
    .version(CONFKUBE_VERSION)
    .showHelpAfterError()
    .exitOverride();
  for (const register of [registerQuote, registerSigstruct, registerSgxs, registerSim, registerPolicy, registerService, registerNode, registerWebhook, registerDemo, registerAutoscale, registerEpc, registerPlan]) {
    register(program);
  }
  // Every subcommand inherits exitOverride so commander's usage errors reach the handler below.
  const inherit = (c: Command): void => {
    for (const sub of c.commands) {
      sub.exitOverride();
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return EXIT_USAGE;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`confkube: ${e.message}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof ConfkubeError) {
      process.stderr.write(`confkube: ${e.code}: ${e.message}\n`);
      return EXIT_USAGE;
    }
    process.stderr.write(`confkube: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return 70;
  }
}

const isEntry = process.argv[1] !== undefined && /(?:^|[\\/])(?:main\.[jt]s|confkube(?:\.js)?)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
