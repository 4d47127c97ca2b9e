import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { EventQueries } from '../src/admin/events/event.queries';
import { AdminCursors } from '../src/admin/http/admin-cursors';
import type { QuarantineService } from '../src/admin/quarantine/quarantine.service';
import { ConsoleReads } from '../src/console/console-reads';
import { parsePayloadSearch, windowOf } from '../src/console/payload-search';
import { dataSourceOptions } from '../src/database/data-source.options';
import { runMigrationsLocked } from '../src/database/migrations.runner';
import { ScratchDatabase } from './support/scratch-database';

const EVENTS = 120_000;
const DAYS = 60;

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  'Actual Rows'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/**
 * The console's payload search reads only its time window: on 120,000 events over 60 days, a
 * 7-day search for a value no event holds (the worst case: nothing stops the scan early) walks the
 * received_at index within the window's bounds, never a sequential scan of the table.
 */
describe('console payload search: the time window bounds the scan', () => {
  let scratch: ScratchDatabase;
  let dataSource: DataSource;
  let reads: ConsoleReads;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('console_plan');
    dataSource = new DataSource(dataSourceOptions(scratch.url));
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    await dataSource.query(
      `INSERT INTO webhook_events (event_id, name, entity_type, entity_id, outcome, payload, received_at, delivery_id)
       SELECT 'evt-' || n, 'message.sent', 'message', 'msg-' || n, 'applied',
              jsonb_build_object('eventId', 'evt-' || n, 'payload', jsonb_build_object('id', 'msg-' || n,
                                 'metadata', jsonb_build_object('orderId', (n % 5000)::text))),
              now() - (n * interval '1 second' * ${(DAYS * 86400) / EVENTS}), 'delivery-' || (n / 10)
         FROM generate_series(1, ${EVENTS}) AS n`,
    );
    await dataSource.query('ANALYZE webhook_events');
    const cursors = new AdminCursors({ apiKeys: ['k'.repeat(32)], readKeys: [], sessionMinutes: 60 });
    reads = new ConsoleReads(
      dataSource,
      new EventQueries(dataSource),
      undefined as unknown as QuarantineService,
      cursors,
    );
  }, 300_000);

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await scratch?.drop();
  });

  const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

  it('walks webhook_events_received_idx between since and until, reading no more than the window holds', async () => {
    const window = windowOf(undefined, undefined);
    const query = reads.searchQuery(
      {},
      parsePayloadSearch('payload.metadata.orderId=no-such-order'),
      window,
      51,
      null,
    );
    const [sql, params] = query.getQueryAndParameters();
    const [row] = await dataSource.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
      params,
    );
    const all = nodes(row['QUERY PLAN'][0].Plan);
    expect(all.map((node) => node['Node Type'])).not.toContain('Seq Scan');
    const scan = all.find((node) => node['Index Name'] === 'webhook_events_received_idx');
    expect(scan?.['Index Cond']).toMatch(/received_at >= .*received_at < /);
    const inWindow = EVENTS * (7 / DAYS);
    const read = (scan?.['Actual Rows'] ?? 0) + (scan?.['Rows Removed by Filter'] ?? 0);
    expect(read).toBeGreaterThan(inWindow * 0.9);
    expect(read).toBeLessThan(inWindow * 1.1);
  });

  it('finds what it is asked for inside the window, newest first', async () => {
    const page = await reads.search(
      {},
      parsePayloadSearch('payload.metadata.orderId=42'),
      windowOf(undefined, undefined),
      500,
    );
    const expected = await dataSource.query<{ event_id: string }[]>(
      `SELECT event_id FROM webhook_events
        WHERE payload #>> '{payload,metadata,orderId}' = '42' AND received_at >= now() - interval '7 days'
        ORDER BY received_at DESC`,
    );
    expect(page.items.map((item) => item.eventId)).toEqual(expected.map((row) => row.event_id));
    expect(page.items.length).toBeGreaterThan(0);
  });
});
