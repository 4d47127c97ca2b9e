import { DatabaseService } from '../src/database/database.service';
import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { eventCounts } from './support/event-metrics';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { envelope, postWebhook } from './support/signing';

/** A small seeded PRNG (mulberry32): the same deliveries every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

interface Planned {
  eventId: string;
  entity: string | null;
  revision: number;
  envelope: Record<string, unknown>;
}

interface Row {
  event_id: string;
  entity_type: string;
  entity_id: string | null;
  revision: string;
  outcome: string;
}

describe('two workers storing concurrent deliveries', () => {
  const rand = random(20261120);
  const space = `space-concurrency-${Date.now()}`;
  let scratch: ScratchDatabase;
  let api: TestApp;
  const workers: TestApp[] = [];
  let db: Db;
  let probe: BrokerProbe;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('concurrency');
    api = await startApp({ APP_ROLE: 'api', DATABASE_URL: scratch.url });
    const shared = {
      APP_ROLE: 'worker',
      AMQP_PREFIX: api.env.AMQP_PREFIX,
      DATABASE_URL: scratch.url,
      // Small prefetch and batches, so both workers take part and batches interleave.
      CONSUMER_PREFETCH: '20',
      CONSUMER_BATCH_SIZE: '10',
    };
    workers.push(...(await Promise.all([startApp(shared), startApp(shared)])));
    await Promise.all(workers.map((w) => w.app.get(DatabaseService).ready));
    for (const app of [api, ...workers])
      await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 200, { what: 'ready' });
    db = await Db.connect(scratch.url);
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    await api?.close();
    if (api) await probe?.deleteTopology(api.env.AMQP_PREFIX);
    await probe?.close();
    await db?.close();
    await scratch?.drop();
  });

  it('stores each event once and leaves every entity at its highest revision', async () => {
    // 60 entities (messages and profiles), 3–7 revisions each, plus events that name no entity.
    const planned: Planned[] = [];
    for (let e = 0; e < 60; e++) {
      const entityType = e % 3 === 0 ? 'profile' : 'message';
      const entityId = `ent-${e}`;
      const revisions = 3 + Math.floor(rand() * 5);
      for (let revision = 1; revision <= revisions; revision++) {
        const sent = envelope({
          apiSpaceId: space,
          name: `${entityType}.${entityType === 'profile' ? 'update' : 'delivered'}`,
          revision,
          payload: entityType === 'profile' ? { id: entityId } : { id: entityId },
        });
        planned.push({
          eventId: sent.eventId as string,
          entity: `${entityType}/${entityId}`,
          revision,
          envelope: sent,
        });
      }
    }
    for (let u = 0; u < 12; u++) {
      const sent = envelope({ apiSpaceId: space, name: 'chat.typing', payload: { conversation: `c-${u}` } });
      planned.push({ eventId: sent.eventId as string, entity: null, revision: 1, envelope: sent });
    }

    // Every event sent 1–3 times, all shuffled, grouped into singles and batches of 2–8.
    const occurrences = shuffle(
      planned.flatMap((p) => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => p.envelope)),
      rand,
    );
    const deliveries: string[] = [];
    for (let i = 0; i < occurrences.length;) {
      const size = rand() < 0.7 ? 1 : 2 + Math.floor(rand() * 7);
      const items = occurrences.slice(i, i + size);
      deliveries.push(JSON.stringify(size === 1 ? items[0] : items));
      i += items.length;
    }
    expect(deliveries.length).toBeGreaterThanOrEqual(250);

    // POSTed 8 at a time.
    let next = 0;
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < deliveries.length) {
          const res = await postWebhook(api.url, deliveries[next++]);
          statuses.push(res.status);
          await res.arrayBuffer();
        }
      }),
    );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    const handled = async () => {
      let total = 0;
      for (const w of workers) {
        const c = await eventCounts(w.app);
        total += c.applied + c.stale + c.untracked + c.duplicate;
      }
      return total;
    };
    await waitFor(async () => (await handled()) === occurrences.length, {
      what: `all ${occurrences.length} event occurrences handled by the workers`,
      timeoutMs: 60000,
      intervalMs: 200,
    });

    const rows = await db.rows<Row>(
      'SELECT event_id, entity_type, entity_id, revision, outcome FROM webhook_events WHERE api_space_id = $1',
      [space],
    );
    // Exactly one row per distinct eventId.
    expect(rows).toHaveLength(planned.length);
    expect(new Set(rows.map((r) => r.event_id))).toEqual(new Set(planned.map((p) => p.eventId)));
    expect(await db.count('SELECT count(*) FROM webhook_events')).toBe(planned.length);

    const byEntity = new Map<string, Row[]>();
    for (const row of rows) {
      if (row.entity_id === null) {
        expect(row.outcome).toBe('untracked');
        continue;
      }
      const key = `${row.entity_type}/${row.entity_id}`;
      byEntity.set(key, [...(byEntity.get(key) ?? []), row]);
    }
    expect(byEntity.size).toBe(60);

    const revisions = await db.rows<{
      entity_type: string;
      entity_id: string;
      revision: string;
      event_id: string;
    }>('SELECT entity_type, entity_id, revision, event_id FROM entity_revisions WHERE api_space_id = $1', [
      space,
    ]);
    expect(revisions).toHaveLength(60);
    for (const latest of revisions) {
      const key = `${latest.entity_type}/${latest.entity_id}`;
      const sentForEntity = planned.filter((p) => p.entity === key);
      const highest = sentForEntity.reduce((a, b) => (b.revision > a.revision ? b : a));
      // The latest state is the highest revision sent, carried by the event that sent it…
      expect({ key, revision: Number(latest.revision), eventId: latest.event_id }).toEqual({
        key,
        revision: highest.revision,
        eventId: highest.eventId,
      });
      const stored = byEntity.get(key)!;
      // …which is the one applied event at that revision;
      expect(
        stored.filter((r) => r.outcome === 'applied' && Number(r.revision) === highest.revision),
      ).toEqual([expect.objectContaining({ event_id: highest.eventId })]);
      // every stale event was overtaken by an applied event with a higher revision;
      for (const stale of stored.filter((r) => r.outcome === 'stale')) {
        expect(
          stored.some((r) => r.outcome === 'applied' && Number(r.revision) > Number(stale.revision)),
        ).toBe(true);
      }
      // and every event of an entity is either applied or stale, never untracked.
      expect(stored.every((r) => r.outcome === 'applied' || r.outcome === 'stale')).toBe(true);
    }

    // The workers' counters agree with the table: each event counted once, every repeat as a repeat.
    const counts = await Promise.all(workers.map((w) => eventCounts(w.app)));
    const sum = (pick: (c: (typeof counts)[number]) => number) => counts.reduce((t, c) => t + pick(c), 0);
    const outcomes = (name: string) => rows.filter((r) => r.outcome === name).length;
    expect({
      applied: sum((c) => c.applied),
      stale: sum((c) => c.stale),
      untracked: sum((c) => c.untracked),
      duplicate: sum((c) => c.duplicate),
    }).toEqual({
      applied: outcomes('applied'),
      stale: outcomes('stale'),
      untracked: 12,
      duplicate: occurrences.length - planned.length,
    });
    // Both workers consumed: each one stored or recognised events.
    for (const c of counts) expect(c.applied + c.stale + c.untracked + c.duplicate).toBeGreaterThan(0);

    const topology = topologyFor(api.env.AMQP_PREFIX);
    expect(await probe.messageCount(topology.queue)).toBe(0);
    expect(await probe.messageCount(topology.deadLetterQueue)).toBe(0);
  });
});
