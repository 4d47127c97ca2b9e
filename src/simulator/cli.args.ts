import { parseArgs } from 'node:util';
import { parseDuration } from './duration';
import { OptionsError, type SimulationOptions } from './simulation.options';

export type CliCommand =
  { kind: 'help' } | { kind: 'run'; options: SimulationOptions; json: boolean; quiet: boolean };

const FLAGS = {
  url: { type: 'string' },
  secret: { type: 'string' },
  events: { type: 'string' },
  'api-spaces': { type: 'string' },
  'account-id': { type: 'string' },
  'batch-share': { type: 'string' },
  'batch-size': { type: 'string' },
  'repeat-share': { type: 'string' },
  'click-share': { type: 'string' },
  'profile-share': { type: 'string' },
  'family-share': { type: 'string' },
  'message-id-share': { type: 'string' },
  'on-401': { type: 'string' },
  concurrency: { type: 'string' },
  rate: { type: 'string' },
  timeout: { type: 'string' },
  'time-scale': { type: 'string' },
  seed: { type: 'string' },
  ledger: { type: 'string' },
  'check-database': { type: 'string' },
  'check-admin': { type: 'string' },
  'admin-key': { type: 'string' },
  'check-feed': { type: 'string' },
  'feed-prefix': { type: 'string' },
  'settle-timeout': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * Reads the command line. Secrets can come from the environment (SIMULATOR_SECRET,
 * SIMULATOR_ADMIN_KEY) so they stay out of `ps` and shell history; a flag wins over the variable.
 */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv): CliCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new OptionsError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return { kind: 'help' };
  const text = (flag: keyof typeof FLAGS) => values[flag] as string | undefined;
  const number = (flag: keyof typeof FLAGS) => {
    const raw = text(flag);
    if (raw === undefined) return undefined;
    const parsed = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(parsed))
      throw new OptionsError(`--${flag}: "${raw}" is not a number`);
    return parsed;
  };
  const duration = (flag: keyof typeof FLAGS) => {
    const raw = text(flag);
    if (raw === undefined) return undefined;
    const parsed = parseDuration(raw);
    if (parsed === null)
      throw new OptionsError(`--${flag}: "${raw}" is not a duration (e.g. 500ms, 10s, 2m)`);
    return parsed;
  };
  const options: SimulationOptions = {
    url: text('url'),
    secret: text('secret') ?? env.SIMULATOR_SECRET ?? '',
    events: number('events'),
    apiSpaces: text('api-spaces')
      ?.split(',')
      .map((space) => space.trim())
      .filter(Boolean),
    accountId: number('account-id'),
    batchShare: number('batch-share'),
    batchSize: number('batch-size'),
    repeatShare: number('repeat-share'),
    clickShare: number('click-share'),
    profileShare: number('profile-share'),
    familyShare: number('family-share'),
    messageIdShare: number('message-id-share'),
    on401: text('on-401') as SimulationOptions['on401'],
    concurrency: number('concurrency'),
    ratePerSecond: number('rate'),
    requestTimeoutMs: duration('timeout'),
    timeScale: number('time-scale'),
    seed: number('seed'),
    ledgerFile: text('ledger'),
    checkDatabase: text('check-database'),
    checkAdmin: text('check-admin'),
    adminKey: text('admin-key') ?? env.SIMULATOR_ADMIN_KEY,
    checkFeed: text('check-feed'),
    feedPrefix: text('feed-prefix'),
    settleTimeoutMs: duration('settle-timeout'),
  };
  // Absent flags are left out, so the schema's defaults apply.
  const given = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
  return {
    kind: 'run',
    options: given as SimulationOptions,
    json: values.json === true,
    quiet: values.quiet === true,
  };
}
