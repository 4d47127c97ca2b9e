import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueryRunner } from 'typeorm';
import type { DestinationsConfig } from '../config/config.slices';
import type { StoredEvent } from '../feed/feed.message';
import { Metrics } from '../metrics/metrics.service';
import { DestinationFanOut, DestinationSignal } from './destination.fan-out';
import { DestinationMetrics } from './destination.metrics';
import { Destinations } from './destinations';

function event(eventId: string, outcome: string, name: string, entityId: string | null): StoredEvent {
  return {
    eventId,
    name,
    outcome,
    entityType: name.split('.')[0],
    entityId,
    revision: null,
    apiSpaceId: null,
    deliveryId: 'd-1',
    receivedAt: new Date(0),
    payload: '{}',
    traceparent: null,
  };
}

const destination = (name: string, filter: string[]) => ({
  name,
  url: 'https://example.com/in',
  secrets: [`whsec_${Buffer.alloc(24, 1).toString('base64')}`],
  filter,
});

const opened: Destinations[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const destinations of opened.splice(0)) destinations.onModuleDestroy();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The destinations in force, read from a DESTINATIONS_FILE of the test's own. */
function inForce(list: unknown[]): Destinations {
  const dir = mkdtempSync(join(tmpdir(), 'fan-out-'));
  dirs.push(dir);
  const file = join(dir, 'destinations.json');
  writeFileSync(file, JSON.stringify(list));
  const config: DestinationsConfig = { file, retryBaseMs: 5000 };
  const destinations = new Destinations(config, new DestinationMetrics(new Metrics()));
  destinations.onModuleInit();
  opened.push(destinations);
  return destinations;
}

describe('DestinationFanOut', () => {
  it('records one row per matching (destination, event), in outbox order, skipping replays and removed events', async () => {
    const queries: unknown[][] = [];
    const runner = { query: (_sql: string, params: unknown[]) => (queries.push(params), Promise.resolve()) };
    const fanOut = new DestinationFanOut(
      inForce([destination('crm', ['applied.message.#']), destination('all', ['#'])]),
      new DestinationSignal(),
    );
    const events = new Map(
      [
        event('e1', 'applied', 'message.sent', 'm1'),
        event('e2', 'stale', 'message.read', 'm1'),
        event('e3', 'untracked', 'profile.update', null),
        event('e4', 'applied', 'message.read', 'm2'),
      ].map((e) => [e.eventId, e]),
    );
    const count = await fanOut.record(
      runner as unknown as QueryRunner,
      [
        { position: '7', eventIds: ['e1', 'e2', 'gone'], replay: false },
        { position: '8', eventIds: ['e4'], replay: true },
        { position: '9', eventIds: ['e3', 'e4'], replay: false },
      ],
      events,
    );
    expect(count).toBe(6);
    const [destinations, positions, items, eventIds, entityKeys] = queries[0].map((column) =>
      JSON.parse(column as string),
    ) as unknown[][];
    expect(destinations).toEqual(['crm', 'all', 'all', 'all', 'crm', 'all']);
    expect(positions).toEqual(['7', '7', '7', '9', '9', '9']);
    expect(items).toEqual([0, 0, 1, 0, 1, 1]);
    expect(eventIds).toEqual(['e1', 'e1', 'e2', 'e3', 'e4', 'e4']);
    expect(entityKeys).toEqual(['message.m1', 'message.m1', 'message.m1', null, 'message.m2', 'message.m2']);
  });

  it('records nothing, and asks for no transaction, without destinations', async () => {
    const runner = { query: jest.fn() };
    const fanOut = new DestinationFanOut(inForce([]), new DestinationSignal());
    expect(fanOut.active).toBe(false);
    expect(await fanOut.record(runner as unknown as QueryRunner, [], new Map())).toBe(0);
    expect(runner.query).not.toHaveBeenCalled();
  });
});
