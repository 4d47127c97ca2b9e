/**
 * The storage of the bare floor (bench/reference/bare.ts), also driven directly by the storage
 * breakdown (bench/breakdown.ts): the least a consumer can do and still keep the contract's rows.
 * Its row extraction, outcome rule and inserts are the like-for-like reference's too
 * (bench/reference/server.ts), which decides against the stored revisions instead.
 * - webhook_events and entity_revisions with the service's columns and types (payload jsonb), and a
 *   primary key each: no other index, no quarantine table, no outbox;
 * - one transaction per batch: the events `INSERT … ON CONFLICT (event_id) DO NOTHING` (each event
 *   once), `entity_revisions` upserted only for a strictly higher revision (state never backwards,
 *   also with several workers: the upsert's row lock and its WHERE decide);
 * - no advisory locks and no read of the stored revisions: an event's `outcome` is decided within
 *   its batch only (the highest revision of its entity in the batch so far), which is exact for a
 *   single worker whose entities never span two batches, and not otherwise. That is the one thing
 *   the floor gives up; the service's outcomes are exact with any number of workers.
 */
import type { ClientBase } from 'pg';

export const BARE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS webhook_events (
    event_id text PRIMARY KEY, name text NOT NULL, account_id bigint, api_space_id text,
    entity_type text NOT NULL, entity_id text, revision bigint, etag text, event_timestamp timestamptz,
    outcome text NOT NULL, payload jsonb NOT NULL, received_at timestamptz NOT NULL,
    delivery_id text NOT NULL, stored_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE IF NOT EXISTS entity_revisions (
    api_space_id text NOT NULL, entity_type text NOT NULL, entity_id text NOT NULL, revision bigint NOT NULL,
    event_id text NOT NULL, event_name text NOT NULL, event_timestamp timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (api_space_id, entity_type, entity_id));`;

export interface BareDelivery {
  content: Buffer;
  deliveryId: string;
  receivedAt: string;
}

/** One event as both references store it. */
export interface Row {
  eventId: string;
  name: string;
  accountId: number | null;
  apiSpaceId: string | null;
  entityType: string;
  entityId: string | null;
  revision: number | null;
  etag: string | null;
  timestamp: string | null;
  payload: string;
  receivedAt: string;
  deliveryId: string;
}

const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);
const str = (v: unknown) => (typeof v === 'string' ? v : null);
const id = (v: unknown) => (typeof v === 'string' && v ? v : typeof v === 'number' ? String(v) : null);

function addRows(delivery: BareDelivery, rows: Map<string, Row>): void {
  let value: unknown;
  try {
    value = JSON.parse(delivery.content.toString('utf8'));
  } catch {
    return; // the service would quarantine it; the bench never sends one
  }
  for (const e of (Array.isArray(value) ? value : [value]) as Record<string, unknown>[]) {
    if (typeof e !== 'object' || e === null || typeof e.eventId !== 'string' || typeof e.name !== 'string')
      continue;
    if (rows.has(e.eventId)) continue;
    const payload = (typeof e.payload === 'object' && e.payload !== null ? e.payload : {}) as Record<
      string,
      unknown
    >;
    const time = typeof e.timestamp === 'string' ? Date.parse(e.timestamp) : NaN;
    rows.set(e.eventId, {
      eventId: e.eventId,
      name: e.name,
      accountId: int(e.accountId),
      apiSpaceId: str(e.apiSpaceId),
      entityType: e.name.split('.', 1)[0],
      entityId: id(payload.messageId) ?? id(payload.id) ?? id(payload.profileId) ?? id(e.profileId),
      revision: int(e.revision),
      etag: str(e.etag),
      timestamp: Number.isNaN(time) ? null : new Date(time).toISOString(),
      payload: JSON.stringify(e),
      receivedAt: delivery.receivedAt,
      deliveryId: delivery.deliveryId,
    });
  }
}

/** The events of a batch of deliveries, each eventId once (its first copy). */
export function rowsOf(deliveries: readonly BareDelivery[]): Row[] {
  const byId = new Map<string, Row>();
  for (const delivery of deliveries) addRows(delivery, byId);
  return [...byId.values()];
}

/** The key of an entity in `entity_revisions`, as both references read and compare it. */
export const entityKey = (r: Pick<Row, 'apiSpaceId' | 'entityType' | 'entityId'>): string =>
  `${r.apiSpaceId ?? ''}\u0001${r.entityType}\u0001${r.entityId}`;

/**
 * Each row's outcome in arrival order against `highest` (entity key → highest revision so far:
 * the stored ones, or none), and the row that wins each entity. Updates `highest`.
 */
export function decide(
  rows: readonly Row[],
  highest = new Map<string, number>(),
): { outcomes: string[]; winners: Row[] } {
  const winners = new Map<string, Row>();
  const outcomes = rows.map((r) => {
    if (r.entityId === null || r.revision === null) return 'untracked';
    const k = entityKey(r);
    const current = highest.get(k);
    if (current !== undefined && r.revision <= current) return 'stale';
    highest.set(k, r.revision);
    winners.set(k, r);
    return 'applied';
  });
  return { outcomes, winners: [...winners.values()] };
}

/** Inside the caller's transaction: the events (each once) and the winners' entity states (never backwards). */
export async function insertDecided(
  db: ClientBase,
  rows: readonly Row[],
  { outcomes, winners }: { outcomes: string[]; winners: Row[] },
): Promise<void> {
  if (rows.length > 0) {
    await db.query(
      `INSERT INTO webhook_events (event_id, name, account_id, api_space_id, entity_type, entity_id, revision,
                                   etag, event_timestamp, outcome, payload, received_at, delivery_id)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[],
                            $7::bigint[], $8::text[], $9::timestamptz[], $10::text[], $11::jsonb[],
                            $12::timestamptz[], $13::text[])
       ON CONFLICT (event_id) DO NOTHING`,
      [
        rows.map((r) => r.eventId),
        rows.map((r) => r.name),
        rows.map((r) => r.accountId),
        rows.map((r) => r.apiSpaceId),
        rows.map((r) => r.entityType),
        rows.map((r) => r.entityId),
        rows.map((r) => r.revision),
        rows.map((r) => r.etag),
        rows.map((r) => r.timestamp),
        outcomes,
        rows.map((r) => r.payload),
        rows.map((r) => r.receivedAt),
        rows.map((r) => r.deliveryId),
      ],
    );
  }
  if (winners.length > 0) {
    await db.query(
      `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name,
                                     event_timestamp)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[],
                            $7::timestamptz[])
       ON CONFLICT (api_space_id, entity_type, entity_id) DO UPDATE
          SET revision = EXCLUDED.revision, event_id = EXCLUDED.event_id, event_name = EXCLUDED.event_name,
              event_timestamp = EXCLUDED.event_timestamp, updated_at = now()
        WHERE entity_revisions.revision < EXCLUDED.revision`,
      [
        winners.map((r) => r.apiSpaceId ?? ''),
        winners.map((r) => r.entityType),
        winners.map((r) => r.entityId),
        winners.map((r) => r.revision),
        winners.map((r) => r.eventId),
        winners.map((r) => r.name),
        winners.map((r) => r.timestamp),
      ],
    );
  }
}

/** Stores a batch of deliveries in one transaction on `db` (a connected client); returns its rows and outcomes. */
export async function storeBare(
  db: ClientBase,
  deliveries: readonly BareDelivery[],
): Promise<{ rows: Row[]; outcomes: string[] }> {
  const rows = rowsOf(deliveries);
  const decided = decide(rows);
  await db.query('BEGIN');
  try {
    await insertDecided(db, rows, decided);
    await db.query('COMMIT');
    return { rows, outcomes: decided.outcomes };
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
