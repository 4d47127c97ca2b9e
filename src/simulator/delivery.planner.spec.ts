import { planDeliveries, type PlannedDelivery } from './delivery.planner';
import { entityKeyText, trackedEntityOf } from './envelope.types';
import { RandomSource } from './random.source';
import { resolveOptions } from './simulation.options';
import { generateWorkload } from './workload.generator';

function plan(overrides: Record<string, unknown> = {}, seed = 1) {
  const options = resolveOptions({ secret: 's', events: 2000, ...overrides });
  const random = new RandomSource(seed);
  const events = generateWorkload(options, random);
  return { events, deliveries: planDeliveries(events, options, random) };
}

const sentEvents = (deliveries: PlannedDelivery[]) => deliveries.flatMap((d) => d.events);

describe('planDeliveries', () => {
  it('sends every event at least once, each delivery within one API space', () => {
    const { events, deliveries } = plan({ apiSpaces: ['a', 'b', 'c'] });
    const sent = new Set(sentEvents(deliveries).map((e) => e.eventId));
    expect(sent).toEqual(new Set(events.map((e) => e.eventId)));
    for (const delivery of deliveries)
      for (const e of delivery.events) expect(e.apiSpaceId).toBe(delivery.apiSpaceId);
    expect(deliveries.map((d) => d.index)).toEqual(deliveries.map((_, i) => i));
  });

  it('sends the revisions of every entity out of order', () => {
    const { deliveries } = plan();
    const firstSeen = new Map<string, number[]>();
    const seen = new Set<string>();
    for (const event of sentEvents(deliveries)) {
      const tracked = trackedEntityOf(event);
      if (!tracked || seen.has(event.eventId)) continue;
      seen.add(event.eventId);
      const key = entityKeyText(tracked.key);
      firstSeen.set(key, [...(firstSeen.get(key) ?? []), tracked.revision]);
    }
    const multi = [...firstSeen.values()].filter((revisions) => revisions.length >= 2);
    expect(multi.length).toBeGreaterThan(300);
    for (const revisions of multi) expect(revisions).not.toEqual([...revisions].sort((a, b) => a - b));
  });

  it('sends the repeat share again, identical, each in a later delivery than its first', () => {
    const { deliveries } = plan({ repeatShare: 0.1 });
    const first = new Map<string, { index: number; json: string }>();
    let repeats = 0;
    for (const delivery of deliveries) {
      for (const event of delivery.events) {
        const earlier = first.get(event.eventId);
        if (!earlier) {
          first.set(event.eventId, { index: delivery.index, json: JSON.stringify(event) });
          continue;
        }
        repeats += 1;
        expect(delivery.index).toBeGreaterThan(earlier.index);
        expect(JSON.stringify(event)).toBe(earlier.json);
      }
    }
    expect(repeats).toBe(200);
    expect(deliveries.reduce((sum, d) => sum + d.repeats, 0)).toBe(200);
  });

  it('keeps batches within the size asked, never above 500, and sends the batch share in batches', () => {
    for (const batchSize of [1, 37, 500]) {
      const { deliveries } = plan({ batchSize, batchShare: 0.6, repeatShare: 0.2 });
      const batches = deliveries.filter((d) => d.batch);
      for (const d of deliveries) expect(d.events.length).toBeLessThanOrEqual(d.batch ? batchSize : 1);
      expect(Math.max(...batches.map((d) => d.events.length))).toBeLessThanOrEqual(Math.min(batchSize, 500));
      const originals = deliveries.reduce((sum, d) => sum + (d.batch ? d.events.length - d.repeats : 0), 0);
      expect(originals).toBeGreaterThanOrEqual(1200 - 2);
      expect(originals).toBeLessThanOrEqual(1200 + 2);
      expect(deliveries.some((d) => !d.batch)).toBe(true);
    }
  });

  it('mixes singles and batches through the run rather than all batches first', () => {
    const { deliveries } = plan({ batchShare: 0.5, batchSize: 20 });
    const half = Math.floor(deliveries.length / 2);
    for (const part of [deliveries.slice(0, half), deliveries.slice(half)]) {
      expect(part.some((d) => d.batch)).toBe(true);
      expect(part.some((d) => !d.batch)).toBe(true);
    }
  });

  it('sends only singles at batch share 0 and only batches at batch share 1', () => {
    expect(plan({ batchShare: 0, repeatShare: 0 }).deliveries.every((d) => !d.batch)).toBe(true);
    expect(plan({ batchShare: 1, repeatShare: 0 }).deliveries.every((d) => d.batch)).toBe(true);
  });
});
