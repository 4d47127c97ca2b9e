import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { Metrics } from '../metrics/metrics.service';
import type { SecretMatch } from './secret-ring';
import { ANY_SPACE } from './spaces-file';

export type ReloadResult = 'success' | 'failure';

/** Which secrets verify deliveries, and how reloading them goes: what an operator rotating needs. */
@Injectable()
export class SignatureMetrics {
  private readonly matches: Counter<'space' | 'key'>;
  private readonly reloads: Counter<'result'>;

  constructor({ registry }: Metrics) {
    this.matches = new Counter({
      name: 'webhook_signature_matches_total',
      help:
        'Deliveries verified, by the secret that matched: space is its apiSpaceId ("*" for "*" and ' +
        'WEBHOOK_SECRETS), key the first 8 hex digits of its SHA-256.',
      labelNames: ['space', 'key'],
      registers: [registry],
    });
    this.reloads = new Counter({
      name: 'webhook_secrets_reloads_total',
      help: 'Reloads of WEBHOOK_SPACES_FILE (SIGHUP or a change of the file), by result.',
      labelNames: ['result'],
      registers: [registry],
    });
    // Both series exist from the start, so increase() sees the first failure.
    for (const result of ['success', 'failure'] as const) this.reloads.inc({ result }, 0);
  }

  countMatch(match: SecretMatch): void {
    this.matches.inc({ space: match.space ?? ANY_SPACE, key: match.key });
  }

  countReload(result: ReloadResult): void {
    this.reloads.inc({ result });
  }
}
