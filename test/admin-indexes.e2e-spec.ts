import 'reflect-metadata';
import { DataSource, type SelectQueryBuilder, type ObjectLiteral } from 'typeorm';
import { EventQueries, type EventFilters } from '../src/admin/events/event.queries';
import type { Position } from '../src/admin/http/cursor';
import { QuarantineService, type QuarantineFilters } from '../src/admin/quarantine/quarantine.service';
import { dataSourceOptions } from '../src/database/data-source.options';
import { runMigrationsLocked } from '../src/database/migrations.runner';
import { ScratchDatabase } from './support/scratch-database';

const EVENTS = 300_000;
const QUARANTINED = 30_000;
const PAGE = 51; // what the service asks for: the default limit, plus one to know whether a next page exists

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Plan Rows': number;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Sort Key'?: string[];
  'Rows Removed by Filter'?: number;
  'Index Cond'?: string;
  Filter?: string;
  Plans?: PlanNode[];
}

/**
 * The operations API's queries on a big table: every filter of the events list (alone, none, a
 * cursor page deep in the table), the entity story and the quarantine list read through the index
 * made for them (the migrations), never a sequential scan, and never sort more than a page, except
 * above an index scan that returns few rows (an entity's or a delivery's events). The SQL is the
 * service's own (listQuery / storyQuery), planned with EXPLAIN (ANALYZE, FORMAT JSON) after ANALYZE.
 */
describe('operations API: index use on 300,000 events', () => {
  let scratch: ScratchDatabase;
  let dataSource: DataSource;
  let events: EventQueries;
  let quarantine: QuarantineService;
  let newest: Date;

  beforeAll(async () => {
    const started = Date.now();
    scratch = await ScratchDatabase.create('admin_indexes');
    dataSource = new DataSource(dataSourceOptions(scratch.url));
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    events = new EventQueries(dataSource);
    // Only its list query is used: it never publishes here.
    quarantine = new QuarantineService(dataSource, undefined as never);
    await generate(dataSource);
    [{ newest }] = await dataSource.query<{ newest: Date }[]>(
      'SELECT max(received_at) AS newest FROM webhook_events',
    );
    process.stderr.write(`admin-indexes: data generated in ${Date.now() - started} ms\n`);
  }, 300_000);

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await scratch?.drop();
  });

  async function plan(query: SelectQueryBuilder<ObjectLiteral>): Promise<PlanNode> {
    const [sql, params] = query.getQueryAndParameters();
    const started = Date.now();
    const [row] = await dataSource.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
      params,
    );
    process.stderr.write(`explain took ${Date.now() - started} ms\n`);
    return row['QUERY PLAN'][0].Plan;
  }

  const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];
  const describePlan = (node: PlanNode, depth = 0): string =>
    [
      `${'  '.repeat(depth)}${node['Node Type']}${node['Index Name'] ? ` using ${node['Index Name']}` : ''}` +
        `${node['Relation Name'] ? ` on ${node['Relation Name']}` : ''} (rows ${node['Actual Rows']}` +
        `${node['Rows Removed by Filter'] ? `, removed by filter ${node['Rows Removed by Filter']}` : ''})` +
        `${node['Index Cond'] ? ` cond ${node['Index Cond']}` : ''}${node.Filter ? ` filter ${node.Filter}` : ''}`,
      ...(node.Plans ?? []).map((child) => describePlan(child, depth + 1)),
    ].join('\n');

  /** The index the plan reads `table` through, and the checks every list plan must pass. */
  function expectIndexPlan(
    root: PlanNode,
    table: string,
    index: string,
    { sortAllowed = false }: { sortAllowed?: boolean } = {},
  ): void {
    const all = nodes(root);
    const text = describePlan(root);
    const scans = all.filter(
      (node) =>
        node['Relation Name'] === table ||
        (node['Node Type'] === 'Bitmap Index Scan' && node['Index Name']?.startsWith(`${table}_`)),
    );
    expect({ plan: text, seqScan: scans.some((node) => node['Node Type'] === 'Seq Scan') }).toEqual({
      plan: text,
      seqScan: false,
    });
    expect({ plan: text, indexes: [...new Set(scans.map((n) => n['Index Name']).filter(Boolean))] }).toEqual({
      plan: text,
      indexes: [index],
    });
    const sorts = all.filter((node) => /Sort/.test(node['Node Type']));
    if (!sortAllowed) expect({ plan: text, sorts: sorts.length }).toEqual({ plan: text, sorts: 0 });
    // A sort (entity, delivery) sorts only what its index scan returned: a few rows, never the table.
    for (const sort of sorts)
      expect(sort['Actual Rows']! * (sort['Actual Loops'] ?? 1)).toBeLessThanOrEqual(500);
    process.stderr.write(`${index}:\n${text}\n`);
  }

  const deep = async (filters: EventFilters): Promise<Position> => {
    // The position of a row about 250,000 rows into the list: a cursor page deep in the table.
    const [row] = await dataSource.query<{ us: string; id: string }[]>(
      `SELECT (extract(epoch FROM received_at) * 1000000)::bigint::text AS us, event_id AS id
         FROM webhook_events ${filters.name ? 'WHERE name = $1' : ''}
        ORDER BY received_at DESC, event_id DESC OFFSET ${filters.name ? 30_000 : 250_000} LIMIT 1`,
      filters.name ? [filters.name] : [],
    );
    return { receivedAtMicros: row.us, id: row.id };
  };

  const day = 86_400_000;
  it.each<[string, EventFilters, string, boolean]>([
    ['no filter', {}, 'webhook_events_received_idx', false],
    ['name (18 %)', { name: 'message.read' }, 'webhook_events_name_received_idx', false],
    [
      'name only in the oldest events',
      { name: 'message.expired' },
      'webhook_events_name_received_idx',
      false,
    ],
    ['apiSpaceId (25 %)', { apiSpaceId: 'space-b' }, 'webhook_events_space_received_idx', false],
    ['apiSpaceId gone quiet', { apiSpaceId: 'space-gone' }, 'webhook_events_space_received_idx', false],
    ['entityType', { entityType: 'interaction' }, 'webhook_events_type_received_idx', false],
    [
      'entityType message (59 %, not in its index)',
      { entityType: 'message' },
      'webhook_events_received_idx',
      false,
    ],
    ['outcome stale (3 %)', { outcome: 'stale' }, 'webhook_events_outcome_received_idx', false],
    ['outcome untracked', { outcome: 'untracked' }, 'webhook_events_outcome_received_idx', false],
    [
      'outcome applied (85 %, not in its index)',
      { outcome: 'applied' },
      'webhook_events_received_idx',
      false,
    ],
    [
      'outcome applied and apiSpaceId',
      { outcome: 'applied', apiSpaceId: 'space-b' },
      'webhook_events_space_received_idx',
      false,
    ],
    ['entityId', { entityId: 'msg-31337' }, 'webhook_events_entity_idx', true],
    ['deliveryId', { deliveryId: 'dlv-1234' }, 'webhook_events_delivery_idx', true],
    [
      'name and outcome',
      { name: 'message.expired', outcome: 'stale' },
      'webhook_events_name_received_idx',
      false,
    ],
    ['entityId and name', { entityId: 'msg-31337', name: 'message.read' }, 'webhook_events_entity_idx', true],
  ])('events list, %s %j: reads %s', async (_, filters, index, sortAllowed) => {
    expectIndexPlan(await plan(events.listQuery(filters, PAGE, null)), 'webhook_events', index, {
      sortAllowed,
    });
  });

  it.each<[string, (newest: Date) => EventFilters]>([
    ['since (the last day)', (t) => ({ since: new Date(t.getTime() - day) })],
    ['until (older than 15 days)', (t) => ({ until: new Date(t.getTime() - 15 * day) })],
    [
      'since and until (one day, two weeks ago)',
      (t) => ({ since: new Date(t.getTime() - 15 * day), until: new Date(t.getTime() - 14 * day) }),
    ],
  ])('events list, %s: reads webhook_events_received_idx', async (_, filters) => {
    expectIndexPlan(
      await plan(events.listQuery(filters(newest), PAGE, null)),
      'webhook_events',
      'webhook_events_received_idx',
    );
  });

  it('events list, a cursor page 250,000 rows deep: reads webhook_events_received_idx from the position', async () => {
    const root = await plan(events.listQuery({}, PAGE, await deep({})));
    expectIndexPlan(root, 'webhook_events', 'webhook_events_received_idx');
    // The index scan starts at the position: it reads a page, not the 250,000 rows before it.
    const scan = nodes(root).find((node) => node['Index Name'] === 'webhook_events_received_idx')!;
    expect(scan['Actual Rows']).toBeLessThanOrEqual(PAGE);
  });

  it('events list, name and a cursor 30,000 rows deep: reads webhook_events_name_received_idx from the position', async () => {
    const filters = { name: 'message.read' };
    const root = await plan(events.listQuery(filters, PAGE, await deep(filters)));
    expectIndexPlan(root, 'webhook_events', 'webhook_events_name_received_idx');
    const scan = nodes(root).find((node) => node['Index Name'] === 'webhook_events_name_received_idx')!;
    expect(scan['Actual Rows']).toBeLessThanOrEqual(PAGE);
  });

  it.each([
    ['in its space', 'space-b'],
    ['without a space', ''],
  ])("an entity's story %s: reads webhook_events_entity_idx, sorts only its events", async (_, space) => {
    expectIndexPlan(
      await plan(events.storyQuery('msg-4242', space)),
      'webhook_events',
      'webhook_events_entity_idx',
      {
        sortAllowed: true,
      },
    );
  });

  it("an entity's spaces (its story without apiSpaceId): no table read whole, a few probes per space", async () => {
    // A state for every tracked entity, as storage would have left it.
    await dataSource.query(
      `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name)
       SELECT DISTINCT ON (1, 2, 3) coalesce(api_space_id, ''), entity_type, entity_id, revision, event_id, name
         FROM webhook_events WHERE entity_id IS NOT NULL AND revision IS NOT NULL
        ORDER BY 1, 2, 3, revision DESC
       ON CONFLICT DO NOTHING`,
    );
    await dataSource.query('ANALYZE entity_revisions');
    const [sql, params] = events.spacesQuery('message', 'msg-4242');
    const [row] = await dataSource.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`,
      params,
    );
    const root = row['QUERY PLAN'][0].Plan;
    const text = describePlan(root);
    const reads = nodes(root).filter((node) => node['Relation Name'] !== undefined);
    expect({ plan: text, seqScans: reads.filter((node) => node['Node Type'] === 'Seq Scan').length }).toEqual(
      {
        plan: text,
        seqScans: 0,
      },
    );
    const rowsRead = reads.reduce(
      (sum, node) =>
        sum + (node['Actual Rows']! + (node['Rows Removed by Filter'] ?? 0)) * (node['Actual Loops'] ?? 1),
      0,
    );
    expect({ plan: text, rowsRead: rowsRead <= 500 }).toEqual({ plan: text, rowsRead: true });
    expect((await events.spacesOf('message', 'msg-4242')).length).toBeGreaterThan(0);
    process.stderr.write(`spaces of an entity:\n${text}\n`);
  });

  it.each<[string, string, (newest: Date) => QuarantineFilters, boolean]>([
    ['no filter', 'quarantined_deliveries_received_idx', () => ({}), false],
    ['since', 'quarantined_deliveries_received_idx', (t) => ({ since: new Date(t.getTime() - day) }), false],
    [
      'until',
      'quarantined_deliveries_received_idx',
      (t) => ({ until: new Date(t.getTime() - 10 * day) }),
      false,
    ],
    ['deliveryId', 'quarantined_deliveries_item_uq', () => ({ deliveryId: 'qdlv-77' }), true],
  ])('quarantine list, %s: reads %s', async (_, index, filters, sortAllowed) => {
    expectIndexPlan(
      await plan(quarantine.listQuery(filters(newest), PAGE, null)),
      'quarantined_deliveries',
      index,
      { sortAllowed },
    );
  });

  it('quarantine list, a cursor page 25,000 rows deep: reads quarantined_deliveries_received_idx from the position', async () => {
    const [row] = await dataSource.query<{ us: string; id: string }[]>(
      `SELECT (extract(epoch FROM received_at) * 1000000)::bigint::text AS us, id::text AS id
         FROM quarantined_deliveries ORDER BY received_at DESC, id DESC OFFSET 25000 LIMIT 1`,
    );
    const root = await plan(quarantine.listQuery({}, PAGE, { receivedAtMicros: row.us, id: row.id }));
    expectIndexPlan(root, 'quarantined_deliveries', 'quarantined_deliveries_received_idx');
    const scan = nodes(root).find((node) => node['Index Name'] === 'quarantined_deliveries_received_idx')!;
    expect(scan['Actual Rows']).toBeLessThanOrEqual(PAGE);
  });
});

/**
 * 300,000 events as production would hold them: four API spaces (one with most traffic, 5 % with
 * none), eight names over four entity types, outcomes applied 85 % / untracked 12 % / stale 3 %,
 * about 100,000 message ids and 5,000 profiles, received over 30 days, 100 events per delivery
 * (sharing its received_at). Two values are old only: `message.expired` (13.5 % of all events, all in
 * the oldest 15 %: a renamed event) and `space-gone` (2 %, all in the oldest 10 %: a space that stopped
 * sending). 30,000 quarantined rows over the same 30 days, 10 per delivery. The secondary indexes
 * (exactly as the migrations made them) are dropped for the load and built again after it: faster.
 */
async function generate(dataSource: DataSource, events = EVENTS, quarantined = QUARANTINED): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    const indexes = (await runner.query(
      `SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename IN ('webhook_events', 'quarantined_deliveries') AND indexname NOT LIKE '%_pkey'`,
    )) as { indexname: string; indexdef: string }[];
    for (const { indexname } of indexes) await runner.query(`DROP INDEX ${indexname}`);
    await runner.query(`SET maintenance_work_mem = '256MB'`);
    await runner.query(`SELECT setseed(0.42)`);
    await runner.query(
      `INSERT INTO webhook_events (event_id, name, account_id, api_space_id, entity_type, entity_id, revision, etag,
                                   event_timestamp, outcome, payload, received_at, delivery_id)
       SELECT event_id, name, 40213, space, split_part(name, '.', 1), entity_id,
              CASE WHEN outcome = 'untracked' THEN NULL ELSE 1 + n % 3 END, '"e' || n || '"',
              received_at - interval '1 second', outcome,
              jsonb_build_object('eventId', event_id, 'name', name, 'apiSpaceId', space,
                                 'payload', jsonb_build_object('id', entity_id, 'status', 'ok')),
              received_at, delivery_id
         FROM (SELECT n, 'evt-' || lpad(n::text, 8, '0') AS event_id, name, space, outcome,
                      CASE WHEN name LIKE 'profile.%' THEN 'user' || (n % 5000) || '@example.com'
                           WHEN name LIKE 'chat.%' THEN NULL
                           ELSE 'msg-' || (n / 3) END AS entity_id,
                      now() - (n / 100) * (interval '30 days' / ($1::int / 100)) AS received_at,
                      'dlv-' || (n / 100) AS delivery_id
                 FROM (SELECT n,
                              CASE WHEN n > $1::int * 0.85 AND n % 10 <> 9 THEN 'message.expired'
                                   ELSE (ARRAY['message.sent', 'message.delivered', 'message.read', 'message.sent',
                                               'message.delivered', 'message.read', 'message.failed',
                                               'interaction.click', 'interaction.click', 'profile.update',
                                               'chat.message'])[1 + (n * 7) % 11] END AS name,
                              CASE WHEN n > $1::int * 0.9 AND r1 >= 0.80 THEN 'space-gone'
                                   WHEN r1 < 0.55 THEN 'space-a' WHEN r1 < 0.80 THEN 'space-b'
                                   WHEN r1 < 0.90 THEN 'space-c' WHEN r1 < 0.95 THEN 'space-d' END AS space,
                              CASE WHEN r2 < 0.85 THEN 'applied' WHEN r2 < 0.97 THEN 'untracked' ELSE 'stale' END
                                AS outcome
                         FROM (SELECT n, random() AS r1, random() AS r2 FROM generate_series(1, $1::int) AS n) AS g
                      ) AS named
              ) AS rows`,
      [events],
    );
    await runner.query(
      `INSERT INTO quarantined_deliveries (received_at, reason, body, item_index, delivery_id)
       SELECT now() - (n / 10) * (interval '30 days' / ($1::int / 10)),
              'body is not valid JSON', convert_to('{"eventId": "half-' || n || '", ', 'UTF8'),
              CASE WHEN n % 10 = 0 THEN NULL ELSE n % 10 END, 'qdlv-' || (n / 10)
         FROM generate_series(1, $1::int) AS n`,
      [quarantined],
    );
    for (const { indexdef } of indexes) await runner.query(indexdef);
    await runner.query('ANALYZE webhook_events');
    await runner.query('ANALYZE quarantined_deliveries');
  } finally {
    await runner.release();
  }
}
