import { parseCli } from './cli.args';
import { HELP } from './cli.help';
import type { DispatchProgress } from './delivery.dispatcher';
import { OptionsError } from './simulation.options';
import { runSimulation, SetupError } from './simulation.runner';
import { formatVerdict } from './verdict.format';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROGRESS_EVERY_MS = 2000;

/** The whole command: parse, run, print; resolves with the exit code (0 balanced, 1 not, 2 unusable). */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  try {
    const command = parseCli(argv, env);
    if (command.kind === 'help') {
      io.stdout(HELP);
      return 0;
    }
    let lastProgressAt = Date.now();
    const onProgress = (progress: DispatchProgress) => {
      const now = Date.now();
      if (command.quiet || now - lastProgressAt < PROGRESS_EVERY_MS) return;
      lastProgressAt = now;
      io.stderr(
        `${progress.settled}/${progress.deliveries} deliveries settled, ${progress.waiting} waiting to be retried\n`,
      );
    };
    const verdict = await runSimulation(command.options, { onProgress });
    io.stdout(command.json ? `${JSON.stringify(verdict, null, 2)}\n` : formatVerdict(verdict));
    return verdict.balanced ? 0 : 1;
  } catch (err) {
    if (err instanceof OptionsError) {
      io.stderr(`omnichannel-simulate: ${err.message}\n(--help lists the options)\n`);
      return 2;
    }
    if (err instanceof SetupError) {
      io.stderr(`omnichannel-simulate: ${err.message}\nNothing was sent.\n`);
      return 2;
    }
    throw err;
  }
}
