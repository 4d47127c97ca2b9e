/**
 * Where the storage cost of the service goes, relative to the bare floor: the service's own
 * consumer path (src/consumer/event.processor.ts → src/events/event.store.ts: parse, rows, revision
 * guard, SQL, metrics) run in this process on a real PostgreSQL, once as it is and once per switch
 * with exactly one thing changed, next to the bare floor's storage (bench/reference/bare-store.ts),
 * all on the same deliveries, in one run, rounds alternating the variants.
 *
 * How a switch changes "one thing":
 * - a secondary index: dropped from that variant's database (created by the service's migrations);
 * - the advisory locks, the revision read: that one statement is not sent (answered as if it
 *   returned no rows) by a filter on pg's Client.prototype.query in this process, so the rest of the
 *   service's code runs unchanged; without the revision read every event is decided against an
 *   empty state (the outcomes are wrong, the cost is what is measured);
 * - jsonb: the payload column made `text`, and the statement's payloads taken from their JSON array
 *   by `json_array_elements_text` (parsed as json, kept as text) instead of `jsonb_array_elements`;
 * - TypeORM: the same EventStore given a pg Pool's client directly for its transaction instead of
 *   TypeORM's query runner (same SQL, same pool settings);
 * - the feed's outbox: FeedConfig.enabled false (no feed_outbox row; the relay is not part of this);
 * - commit frequency: 1 delivery (100 events) or 20 deliveries (2,000 events) per transaction instead
 *   of the consumer's 10 (its cap of 1,000 events with 100-event deliveries).
 *
 * Per variant: events/s of storage alone (one worker, batches back to back), this process's CPU per
 * event (parse + rows + driver: the consumer's share) and the PostgreSQL backend's CPU per event
 * (from /proc/<backend pid>/stat, PostgreSQL running on this machine).
 *
 *   node -r ts-node/register/transpile-only bench/breakdown.ts     (BENCH_BREAKDOWN_EVENTS, BENCH_ROUNDS)
 */
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Client, Pool, type PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { EventProcessor } from '../src/consumer/event.processor';
import { StorageMetrics } from '../src/consumer/storage.metrics';
import { dataSourceOptions } from '../src/database/data-source.options';
import type { DatabaseService } from '../src/database/database.service';
import { EventStore } from '../src/events/event.store';
import { FeedOutbox } from '../src/events/feed-outbox';
import { runMigrationsLocked } from '../src/database/migrations.runner';
import { FeedSignal } from '../src/events/feed.signal';
import type { DeliveryMessage } from '../src/messaging/delivery-message';
import { Metrics } from '../src/metrics/metrics.service';
import { newTag, signedBodies } from './lib/bodies';
import { median } from './lib/stats';
import { BARE_SCHEMA, storeBare, type BareDelivery } from './reference/bare-store';

export interface BreakdownOptions {
  adminUrl: string;
  events: number;
  rounds: number;
  /** Only these variants (keys), e.g. for a profile; all when unset. */
  only?: string[];
  log: (message: string) => void;
}

export interface BreakdownLine {
  key: string;
  label: string;
  /** What the line switches, relative to the service (or to bare for the bare lines). */
  switched: string;
  eventsPerSec: number;
  nodeUsPerEvent: number;
  pgUsPerEvent: number;
}

/** A statement filter in this process: null sends it as it is; a string replaces it; SKIP answers no rows. */
const SKIP = Symbol('skip');
type Filter = (sql: string) => string | typeof SKIP | null;
let activeFilter: Filter | null = null;
/** Statements the active filter changed or skipped: a switch that changes none measures nothing. */
let filterHits = 0;

function installFilter(): void {
  const proto = Client.prototype as unknown as {
    query: (...args: unknown[]) => unknown;
    __benchFiltered?: boolean;
  };
  if (proto.__benchFiltered) return;
  const original = proto.query;
  proto.query = function (this: Client, config: unknown, values?: unknown, callback?: unknown) {
    const filter = activeFilter;
    if (filter) {
      const text = typeof config === 'string' ? config : (config as { text?: unknown })?.text;
      if (typeof text === 'string') {
        const verdict = filter(text);
        if (verdict !== null) filterHits++;
        if (verdict === SKIP) {
          const empty = { rows: [], rowCount: 0, command: 'SELECT', fields: [] };
          const cb = typeof values === 'function' ? values : callback;
          if (typeof cb === 'function') {
            process.nextTick(() => (cb as (e: null, r: unknown) => void)(null, empty));
            return undefined;
          }
          return Promise.resolve(empty);
        }
        if (typeof verdict === 'string')
          config = typeof config === 'string' ? verdict : { ...(config as object), text: verdict };
      }
    }
    return original.call(this, config, values, callback);
  };
  proto.__benchFiltered = true;
}

interface Variant {
  key: string;
  label: string;
  switched: string;
  /** DDL run once on the variant's fresh database (after the migrations, or the bare schema). */
  ddl?: string[];
  filter?: Filter;
  feed?: boolean;
  deliveriesPerTx?: number;
  pgDirect?: boolean;
  bare?: boolean;
}

const DELIVERIES_PER_TX = 10;
const EVENTS_PER_DELIVERY = 100;

function variants(secondaryIndexes: { name: string; def: string }[]): Variant[] {
  const list: Variant[] = [
    { key: 'service', label: 'service, as built', switched: '—' },
    ...secondaryIndexes.map((index) => ({
      key: `-${index.name}`,
      label: `without ${index.name}`,
      switched: `DROP INDEX ${index.name}`,
      ddl: [`DROP INDEX ${index.name}`],
    })),
    {
      key: '-all-secondary',
      label: 'without every secondary index',
      switched: `DROP INDEX (all ${secondaryIndexes.length})`,
      ddl: secondaryIndexes.map((index) => `DROP INDEX ${index.name}`),
    },
    {
      key: '-locks',
      label: 'without the advisory locks',
      switched: 'pg_advisory_xact_lock statement not sent',
      filter: (sql) => (sql.includes('pg_advisory_xact_lock') ? SKIP : null),
    },
    {
      key: '-revision-read',
      label: 'without the revision read',
      switched: 'SELECT … FROM entity_revisions not sent',
      filter: (sql) =>
        /SELECT[\s\S]*FROM entity_revisions/.test(sql) && !sql.includes('INSERT') ? SKIP : null,
    },
    {
      key: '-jsonb',
      label: 'payload as text, not jsonb',
      switched: 'payload column text; jsonb_array_elements → json_array_elements_text',
      ddl: ['ALTER TABLE webhook_events ALTER COLUMN payload TYPE text'],
      filter: (sql) =>
        sql.includes('jsonb_array_elements($11::jsonb)') && sql.includes('INSERT INTO webhook_events')
          ? sql.replace('jsonb_array_elements($11::jsonb)', 'json_array_elements_text($11::json)')
          : null,
    },
    {
      key: 'pg-direct',
      label: 'pg directly, not TypeORM',
      switched: 'transaction on a pg Pool client',
      pgDirect: true,
    },
    { key: '-outbox', label: 'without the feed outbox row', switched: 'FEED_ENABLED=false', feed: false },
    {
      key: '-delivery-record',
      label: 'without the delivery record',
      switched: 'INSERT INTO webhook_deliveries not sent',
      filter: (sql) => (sql.includes('INSERT INTO webhook_deliveries') ? SKIP : null),
    },
    {
      key: 'tx-100',
      label: '100 events per transaction',
      switched: '1 delivery per transaction instead of 10',
      deliveriesPerTx: 1,
    },
    {
      key: 'tx-2000',
      label: '2,000 events per transaction',
      switched: '20 deliveries per transaction instead of 10',
      deliveriesPerTx: 20,
    },
    {
      key: 'bare',
      label: 'bare floor',
      switched: 'bench/reference/bare-store.ts, primary keys only',
      bare: true,
    },
    {
      key: 'bare+indexes',
      label: "bare floor + the service's secondary indexes",
      switched: 'bare, with the same CREATE INDEX statements',
      bare: true,
      ddl: secondaryIndexes.map((index) => index.def),
    },
  ];
  return list;
}

/** CPU seconds (user + system) of the PostgreSQL backends serving `database`, from /proc. */
async function backendCpu(admin: Client, database: string): Promise<number> {
  const { rows } = await admin.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [database],
  );
  let total = 0;
  for (const { pid } of rows) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // gone
    }
  }
  return total;
}

interface Prepared {
  variant: Variant;
  database: string;
  url: string;
  run(batches: DeliveryMessage[][]): Promise<void>;
  truncate(): Promise<void>;
  query<T>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

async function prepare(
  admin: Client,
  adminUrl: string,
  variant: Variant,
  tag: string,
  index: number,
): Promise<Prepared> {
  const database = `${tag}_${index}`;
  await admin.query(`CREATE DATABASE "${database}"`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const dbUrl = url.toString();
  if (variant.bare) {
    const client = new Client({ connectionString: dbUrl, application_name: 'bench-breakdown' });
    await client.connect();
    await client.query(BARE_SCHEMA);
    for (const ddl of variant.ddl ?? []) await client.query(ddl);
    return {
      variant,
      database,
      url: dbUrl,
      run: async (batches) => {
        for (const batch of batches) {
          await storeBare(
            client,
            batch.map((d): BareDelivery => ({
              content: d.body,
              deliveryId: d.deliveryId,
              receivedAt: d.receivedAt.toISOString(),
            })),
          );
        }
      },
      truncate: async () => void (await client.query('TRUNCATE webhook_events, entity_revisions')),
      query: async <T>(sql: string) => (await client.query(sql)).rows as T[],
      close: () => client.end(),
    };
  }
  const dataSource = new DataSource(dataSourceOptions(dbUrl));
  await dataSource.initialize();
  await runMigrationsLocked(dataSource);
  for (const ddl of variant.ddl ?? []) await dataSource.query(ddl);
  let pool: Pool | undefined;
  let database$: DatabaseService;
  if (variant.pgDirect) {
    pool = new Pool({ connectionString: dbUrl, max: 8, application_name: 'bench-breakdown' });
    const direct = {
      async transaction<T>(
        work: (manager: { query: (sql: string, p?: unknown[]) => Promise<unknown> }) => Promise<T>,
      ) {
        const client: PoolClient = await pool!.connect();
        try {
          await client.query('BEGIN');
          const result = await work({ query: async (sql, p) => (await client.query(sql, p)).rows });
          await client.query('COMMIT');
          return result;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          client.release();
        }
      },
    };
    database$ = { dataSource: direct } as unknown as DatabaseService;
  } else database$ = { dataSource } as unknown as DatabaseService;
  const store = new EventStore(
    database$,
    { enabled: variant.feed ?? true, outbox: variant.feed ?? true },
    new FeedOutbox(database$.dataSource),
  );
  const processor = new EventProcessor(
    store,
    new StorageMetrics(new Metrics()),
    { prefetch: 100, prefetchBytes: 8 * 1024 * 1024, batchSize: 100, maxAttempts: 5, yieldMs: 0 },
    new FeedSignal(),
  );
  const signal = new AbortController().signal;
  return {
    variant,
    database,
    url: dbUrl,
    run: async (batches) => {
      for (const batch of batches) {
        const verdicts = await processor.process(batch, signal);
        if (verdicts.some((v) => !v.stored)) throw new Error(`${variant.key}: a delivery was not stored`);
      }
    },
    truncate: async () =>
      void (await dataSource.query(
        'TRUNCATE webhook_events, entity_revisions, feed_outbox, quarantined_deliveries',
      )),
    query: <T>(sql: string) => dataSource.query<T[]>(sql),
    close: async () => {
      await pool?.end();
      await dataSource.destroy();
    },
  };
}

function batchesOf(deliveries: DeliveryMessage[], perTx: number): DeliveryMessage[][] {
  const batches: DeliveryMessage[][] = [];
  for (let i = 0; i < deliveries.length; i += perTx) batches.push(deliveries.slice(i, i + perTx));
  return batches;
}

function deliveriesOf(events: number): DeliveryMessage[] {
  return signedBodies(newTag('bd'), EVENTS_PER_DELIVERY, Math.ceil(events / EVENTS_PER_DELIVERY)).map(
    (signed) => ({
      deliveryId: randomUUID(),
      receivedAt: new Date(),
      itemCount: EVENTS_PER_DELIVERY,
      body: signed.body,
    }),
  );
}

export async function runBreakdown(options: BreakdownOptions): Promise<BreakdownLine[]> {
  installFilter();
  Logger.overrideLogger(['warn', 'error']);
  const admin = new Client({ connectionString: options.adminUrl, application_name: 'bench-breakdown-admin' });
  await admin.connect();
  const tag = newTag('bench_bd_');
  const prepared: Prepared[] = [];
  try {
    // The secondary indexes of webhook_events as the migrations make them, read from a scratch copy.
    const probe = await prepare(admin, options.adminUrl, { key: 'probe', label: '', switched: '' }, tag, 0);
    const indexes = await probe.query<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename = 'webhook_events' AND indexname <> 'webhook_events_pkey' ORDER BY indexname`,
    );
    await probe.close();
    await admin.query(`DROP DATABASE "${probe.database}" WITH (FORCE)`);
    const list = variants(indexes.map((row) => ({ name: row.indexname, def: row.indexdef }))).filter(
      (variant) => !options.only || options.only.includes(variant.key),
    );
    for (const [i, variant] of list.entries())
      prepared.push(await prepare(admin, options.adminUrl, variant, tag, i + 1));

    const samples = new Map<string, { eps: number[]; node: number[]; pg: number[] }>();
    // Warm-up: every variant once on a few batches (JIT, connections, caches).
    const warm = deliveriesOf(2000);
    for (const p of prepared) {
      activeFilter = p.variant.filter ?? null;
      filterHits = 0;
      await p.run(batchesOf(warm, p.variant.deliveriesPerTx ?? DELIVERIES_PER_TX));
      activeFilter = null;
      if (p.variant.filter && filterHits === 0) {
        throw new Error(
          `breakdown: the "${p.variant.key}" switch matched no statement of the service's storage path`,
        );
      }
    }
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? prepared : [...prepared].reverse();
      for (const p of order) {
        await p.truncate();
        const deliveries = deliveriesOf(options.events);
        const batches = batchesOf(deliveries, p.variant.deliveriesPerTx ?? DELIVERIES_PER_TX);
        global.gc?.();
        const pgBefore = await backendCpu(admin, p.database);
        const cpuBefore = process.cpuUsage();
        const started = process.hrtime.bigint();
        activeFilter = p.variant.filter ?? null;
        try {
          await p.run(batches);
        } finally {
          activeFilter = null;
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const cpu = process.cpuUsage(cpuBefore);
        const pgSeconds = (await backendCpu(admin, p.database)) - pgBefore;
        const events = deliveries.length * EVENTS_PER_DELIVERY;
        const s = samples.get(p.variant.key) ?? { eps: [], node: [], pg: [] };
        s.eps.push(events / seconds);
        s.node.push((cpu.user + cpu.system) / events);
        s.pg.push((pgSeconds * 1e6) / events);
        samples.set(p.variant.key, s);
        options.log(
          `breakdown r${round} ${p.variant.key}: ${(events / seconds).toFixed(0)} ev/s, node ${((cpu.user + cpu.system) / events).toFixed(1)} µs/ev, pg ${((pgSeconds * 1e6) / events).toFixed(1)} µs/ev`,
        );
      }
    }
    return list.map((variant) => {
      const s = samples.get(variant.key)!;
      return {
        key: variant.key,
        label: variant.label,
        switched: variant.switched,
        eventsPerSec: median(s.eps),
        nodeUsPerEvent: median(s.node),
        pgUsPerEvent: median(s.pg),
      };
    });
  } finally {
    for (const p of prepared) await p.close().catch(() => undefined);
    const { rows } = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${tag}_%`],
    );
    for (const { datname } of rows) await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await admin.end();
  }
}

/** The table of docs/performance.md: each line against the service (and the bare lines against bare). */
export function breakdownMarkdown(lines: BreakdownLine[]): string[] {
  const service = lines.find((l) => l.key === 'service')!;
  const bare = lines.find((l) => l.key === 'bare');
  const f = (v: number, d = 0) =>
    v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const sign = (v: number) => (v >= 0 ? `+${f(v, 1)}` : `−${f(-v, 1)}`);
  const out = [
    '| line | switched | events/s | node µs/event | PostgreSQL µs/event | total µs/event | Δ total vs service |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const line of lines) {
    const total = line.nodeUsPerEvent + line.pgUsPerEvent;
    const base = line.key === 'bare+indexes' && bare ? bare : service;
    const delta = total - (base.nodeUsPerEvent + base.pgUsPerEvent);
    out.push(
      `| ${line.label} | ${line.switched} | ${f(line.eventsPerSec)} | ${f(line.nodeUsPerEvent, 1)} | ${f(line.pgUsPerEvent, 1)} | ${f(total, 1)} | ${line.key === 'service' ? '' : `${sign(delta)}${base === bare ? ' (vs bare)' : ''}`} |`,
    );
  }
  return out;
}

if (require.main === module) {
  const log = (m: string) =>
    process.stderr.write(`[breakdown ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
  runBreakdown({
    adminUrl: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    events: Number(process.env.BENCH_BREAKDOWN_EVENTS ?? 20000),
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    only: process.env.BENCH_BREAKDOWN_ONLY?.split(','),
    log,
  })
    .then((lines) => console.log(breakdownMarkdown(lines).join('\n')))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
