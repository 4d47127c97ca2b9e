import type { INestApplication } from '@nestjs/common';
import { StorageMetrics, type EventOutcomeLabel } from '../../src/consumer/storage.metrics';

/** The consumer's `webhook_events_total` counter of one in-process app, by outcome. */
export async function eventCounts(app: INestApplication): Promise<Record<EventOutcomeLabel, number>> {
  const counts: Record<EventOutcomeLabel, number> = {
    applied: 0,
    stale: 0,
    untracked: 0,
    duplicate: 0,
    quarantined: 0,
  };
  for (const { labels, value } of (await app.get(StorageMetrics).events.get()).values)
    counts[labels.outcome as EventOutcomeLabel] = value;
  return counts;
}

/** Every event the app's consumer has handled (stored, or recognised as a repeat). */
export async function eventsHandled(app: INestApplication): Promise<number> {
  const { applied, stale, untracked, duplicate } = await eventCounts(app);
  return applied + stale + untracked + duplicate;
}
