import { forEachLimited } from './flow.control';
import type { ExpectedEntity } from './ledger';
import { FatalCheckError, type EntityObservation, type StoreReader, type StoredEvent } from './store.check';

const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Reads stored events through the operations API (docs/architecture.md, 6.5) with a bearer key:
 * `GET /admin/events/{eventId}` (the event, or 404) and
 * `GET /admin/entities/{entityType}/{entityId}?apiSpaceId=` (`{state, events}`, or 404).
 * A refused key stops the check at once; other failures are retried by the next poll.
 */
export class AdminReader implements StoreReader {
  private constructor(
    private readonly baseUrl: string,
    private readonly key: string,
    private readonly concurrency: number,
  ) {}

  /** Probes `GET /admin/events?limit=1`, so a wrong URL or key fails before anything is sent. */
  static async open(baseUrl: string, key: string, concurrency = 8): Promise<AdminReader> {
    const reader = new AdminReader(baseUrl.replace(/\/+$/, ''), key, concurrency);
    const response = await reader.get('/admin/events?limit=1');
    if (response.status === 404)
      throw new FatalCheckError('no operations API at that URL (is ADMIN_API_KEYS set on that role?)');
    if (response.status !== 200) throw new FatalCheckError(`GET /admin/events answered ${response.status}`);
    return reader;
  }

  async readEvents(eventIds: string[]): Promise<Map<string, StoredEvent[]>> {
    const stored = new Map<string, StoredEvent[]>();
    await forEachLimited(eventIds, this.concurrency, async (eventId) => {
      const response = await this.get(`/admin/events/${encodeURIComponent(eventId)}`);
      if (response.status === 404) return;
      const item = (await this.json(response)) as {
        payload?: unknown;
        entityType?: string;
        entityId?: string | null;
      };
      stored.set(eventId, [
        { payload: item.payload, entityType: String(item.entityType), entityId: item.entityId ?? null },
      ]);
    });
    return stored;
  }

  async readEntities(entities: Map<string, ExpectedEntity>): Promise<Map<string, EntityObservation>> {
    const observed = new Map<string, EntityObservation>();
    await forEachLimited([...entities.entries()], this.concurrency, async ([text, { key }]) => {
      const path =
        `/admin/entities/${encodeURIComponent(key.entityType)}/${encodeURIComponent(key.entityId)}` +
        `?apiSpaceId=${encodeURIComponent(key.apiSpaceId)}`;
      const response = await this.get(path);
      if (response.status === 404) {
        observed.set(text, { revision: null });
        return;
      }
      const body = (await this.json(response)) as {
        state?: { revision?: unknown } | null;
        events?: { eventId?: unknown }[];
      };
      const revision = body.state?.revision;
      observed.set(text, {
        revision: typeof revision === 'number' || typeof revision === 'string' ? String(revision) : null,
        eventIds: (body.events ?? []).map((event) => String(event.eventId)),
      });
    });
    return observed;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private async get(path: string): Promise<Response> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: { Authorization: `Bearer ${this.key}`, Accept: 'application/json' },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (response.status === 401) {
      await response.body?.cancel();
      throw new FatalCheckError('the operations API refused the admin key (401)');
    }
    return response;
  }

  private async json(response: Response): Promise<unknown> {
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`${new URL(response.url).pathname} answered ${response.status}`);
    }
    return response.json();
  }
}
