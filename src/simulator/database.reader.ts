import { Client, DatabaseError } from 'pg';
import type { ExpectedEntity } from './ledger';
import { entityKeyText } from './envelope.types';
import { FatalCheckError, type EntityObservation, type StoreReader, type StoredEvent } from './store.check';

/** Ids per query: keeps each statement's parameters and answer small. */
const CHUNK = 5000;

/**
 * Reads `webhook_events` and `entity_revisions` (docs/architecture.md, Tables) directly. Reconnects on the next read
 * after losing its connection, so a check can outlive a database restart.
 */
export class DatabaseReader implements StoreReader {
  private client?: Client;

  private constructor(private readonly url: string) {}

  /** Connects and makes sure the tables exist, so a wrong URL fails before anything is sent. */
  static async open(url: string): Promise<DatabaseReader> {
    const reader = new DatabaseReader(url);
    const rows = await reader.query<{ events: string | null; revisions: string | null }>(
      `SELECT to_regclass('webhook_events')::text AS events, to_regclass('entity_revisions')::text AS revisions`,
    );
    if (!rows[0]?.events || !rows[0]?.revisions) {
      await reader.close();
      throw new FatalCheckError('webhook_events or entity_revisions does not exist in that database');
    }
    return reader;
  }

  async readEvents(eventIds: string[]): Promise<Map<string, StoredEvent[]>> {
    const stored = new Map<string, StoredEvent[]>();
    for (let i = 0; i < eventIds.length; i += CHUNK) {
      const rows = await this.query<{
        event_id: string;
        payload: unknown;
        entity_type: string;
        entity_id: string | null;
      }>(
        'SELECT event_id, payload, entity_type, entity_id FROM webhook_events WHERE event_id = ANY($1::text[])',
        [eventIds.slice(i, i + CHUNK)],
      );
      for (const row of rows) {
        const event = { payload: row.payload, entityType: row.entity_type, entityId: row.entity_id };
        stored.set(row.event_id, [...(stored.get(row.event_id) ?? []), event]);
      }
    }
    return stored;
  }

  async readEntities(entities: Map<string, ExpectedEntity>): Promise<Map<string, EntityObservation>> {
    const keys = [...entities.values()].map((entity) => entity.key);
    const observed = new Map<string, EntityObservation>();
    for (let i = 0; i < keys.length; i += CHUNK) {
      const chunk = keys.slice(i, i + CHUNK);
      const rows = await this.query<{
        api_space_id: string;
        entity_type: string;
        entity_id: string;
        revision: string;
      }>(
        `SELECT r.api_space_id, r.entity_type, r.entity_id, r.revision::text AS revision
           FROM entity_revisions r
           JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(api_space_id, entity_type, entity_id)
             ON r.api_space_id = k.api_space_id AND r.entity_type = k.entity_type AND r.entity_id = k.entity_id`,
        [chunk.map((k) => k.apiSpaceId), chunk.map((k) => k.entityType), chunk.map((k) => k.entityId)],
      );
      for (const row of rows) {
        observed.set(
          entityKeyText({
            apiSpaceId: row.api_space_id,
            entityType: row.entity_type,
            entityId: row.entity_id,
          }),
          { revision: row.revision },
        );
      }
    }
    return observed;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (!this.client) {
      const client = new Client({ connectionString: this.url });
      // A lost connection is reported through the next query; without a listener it would crash.
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      this.client = client;
    }
    try {
      return (await this.client.query(sql, params)).rows as T[];
    } catch (err) {
      // A statement's error leaves the connection usable; anything else means it is gone.
      if (!(err instanceof DatabaseError)) await this.close();
      throw err;
    }
  }
}
