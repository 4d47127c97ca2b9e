import { z } from 'zod';

const share = z.number().min(0).max(1);
const durationMs = z.number().min(0);

/**
 * Everything a run can be told, with the defaults the CLI documents. One schema serves the CLI and
 * the programmatic API, so both reject the same bad values with the same messages.
 */
export const simulationOptionsSchema = z
  .object({
    /** Base URL of the deployment; deliveries go to `<url>/webhook`. */
    url: z.string().url().default('http://127.0.0.1:3000'),
    secret: z.string().min(1, 'a webhook secret is required (--secret or SIMULATOR_SECRET)'),
    /** Distinct events to generate (repeats come on top). */
    events: z.number().int().min(1).max(1_000_000).default(1000),
    apiSpaces: z.array(z.string().min(1)).min(1).default(['simulator-space-a', 'simulator-space-b']),
    accountId: z.number().int().min(0).default(40213),
    /** Share of the events sent inside batches (JSON arrays); the rest go as single envelopes. */
    batchShare: share.default(0.7),
    /** Largest batch; sizes are drawn between 1 and this. Dotdigital's own limit is 500. */
    batchSize: z.number().int().min(1).max(500).default(100),
    /** Share of the events sent a second time, in a later delivery, with identical content. */
    repeatShare: share.default(0.1),
    clickShare: share.default(0.1),
    profileShare: share.default(0.1),
    /** Share of the events of the other families: chat, chatMessage, conversation, conversationMessage, presence, facebook. */
    familyShare: share.default(0.1),
    /** Share of messages named by the undocumented `payload.messageId` instead of the documented `payload.id`. */
    messageIdShare: share.default(0.05),
    /**
     * What Dotdigital does with a 401: not documented. `drop` (the worse case, the default): never
     * retried, the data is gone; `retry`: retried on the schedule like a 5xx.
     */
    on401: z.enum(['drop', 'retry']).default('drop'),
    concurrency: z.number().int().min(1).max(1000).default(8),
    /** Requests per second across all connections; unset: as fast as concurrency allows. */
    ratePerSecond: z.number().positive().optional(),
    /** Dotdigital gives an answer 10 s; never scaled by timeScale. */
    requestTimeoutMs: z.number().int().min(1).default(10_000),
    /** Multiplies the waits between retries (0.01: 24 h of schedule in about 15 min). */
    timeScale: z.number().min(0).default(1),
    /** Overrides Dotdigital's schedule (for fault harnesses); still multiplied by timeScale. */
    retryDelaysMs: z.array(durationMs).optional(),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    ledgerFile: z.string().min(1).optional(),
    checkDatabase: z.string().min(1).optional(),
    checkAdmin: z.string().url().optional(),
    adminKey: z.string().min(1).optional(),
    checkFeed: z.string().min(1).optional(),
    feedPrefix: z.string().min(1).default('omnichannel'),
    /** How long the checks wait for asynchronous storage (and the feed) to catch up. */
    settleTimeoutMs: durationMs.default(60_000),
    pollIntervalMs: z.number().int().min(10).default(500),
  })
  .strict()
  .refine((o) => o.clickShare + o.profileShare + o.familyShare <= 1, {
    message: 'clickShare + profileShare + familyShare must not exceed 1',
    path: ['clickShare'],
  })
  .refine((o) => !o.checkAdmin || o.adminKey, {
    message: 'checking the admin API needs an admin key (--admin-key or SIMULATOR_ADMIN_KEY)',
    path: ['adminKey'],
  });

export type SimulationOptions = z.input<typeof simulationOptionsSchema>;
export type ResolvedOptions = z.output<typeof simulationOptionsSchema>;

export class OptionsError extends Error {}

/** Applies defaults and validates; throws OptionsError naming every bad option. */
export function resolveOptions(input: SimulationOptions): ResolvedOptions {
  const parsed = simulationOptionsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`,
  );
  throw new OptionsError(problems.join('; '));
}
