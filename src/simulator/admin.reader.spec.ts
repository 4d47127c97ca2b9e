import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AdminReader } from './admin.reader';
import { entityKeyText, type EntityKey } from './envelope.types';
import type { ExpectedEntity } from './ledger';
import { checkStore, FatalCheckError } from './store.check';

const KEY = 'admin-key-0123456789abcdef0123456789';

/** A stand-in for the operations API (docs/architecture.md, 6.5): just the routes the simulator reads. */
async function adminStandIn(store: {
  events: Record<string, unknown>;
  entities: Record<string, { revision: number; events: string[] }>;
  enabled?: boolean;
}) {
  const seen: { path: string; auth?: string }[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: `${url.pathname}${url.search}`, auth: req.headers.authorization });
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
    if (store.enabled === false) return send(404, { message: 'Not Found' });
    if (req.headers.authorization !== `Bearer ${KEY}`) return send(401, { message: 'Unauthorized' });
    if (url.pathname === '/admin/events') return send(200, { items: [], nextCursor: null });
    const event = /^\/admin\/events\/([^/]+)$/.exec(url.pathname);
    if (event) {
      const payload = store.events[decodeURIComponent(event[1])];
      return payload
        ? send(200, { eventId: decodeURIComponent(event[1]), outcome: 'applied', payload })
        : send(404, {});
    }
    const entity = /^\/admin\/entities\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (entity) {
      const key = [
        url.searchParams.get('apiSpaceId') ?? '',
        ...entity.slice(1, 3).map(decodeURIComponent),
      ].join('|');
      const state = store.entities[key];
      if (!state) return send(404, {});
      return send(200, {
        state: { revision: String(state.revision), eventId: state.events[0], eventName: 'x' },
        events: state.events.map((eventId) => ({ eventId })),
      });
    }
    send(404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const profile: EntityKey = {
  apiSpaceId: 'space a',
  entityType: 'profile',
  entityId: 'jane+test@example.com',
};
const envelope = {
  eventId: 'evt/1',
  accountId: 1,
  apiSpaceId: 'space a',
  name: 'profile.update',
  payload: { id: profile.entityId },
  revision: 2,
  etag: '"2c-x"',
  timestamp: '2026-11-20T11:00:00.000Z',
};
const expected = {
  events: new Map([[envelope.eventId, envelope]]),
  entities: new Map<string, ExpectedEntity>([[entityKeyText(profile), { key: profile, revision: 2 }]]),
};
const timing = { settleTimeoutMs: 300, pollIntervalMs: 20 };
const entityKey = `${profile.apiSpaceId}|${profile.entityType}|${profile.entityId}`;

describe('AdminReader against a stand-in operations API', () => {
  it('checks events and entity states with the bearer key, URL-encoding every id', async () => {
    const api = await adminStandIn({
      events: { [envelope.eventId]: envelope },
      entities: { [entityKey]: { revision: 2, events: [envelope.eventId] } },
    });
    try {
      const result = await checkStore(await AdminReader.open(api.url, KEY), expected, timing);
      expect(result).toMatchObject({ storedOnce: 1, entitiesMatching: 1, missing: [], entityMismatch: [] });
      expect(api.seen.every((request) => request.auth === `Bearer ${KEY}`)).toBe(true);
      expect(api.seen.map((request) => request.path)).toEqual([
        '/admin/events?limit=1',
        '/admin/events/evt%2F1',
        '/admin/entities/profile/jane%2Btest%40example.com?apiSpaceId=space%20a',
      ]);
    } finally {
      await api.close();
    }
  });

  it('reports a 404 event as missing, a state behind, and an event listed twice as stored twice', async () => {
    const api = await adminStandIn({
      events: {},
      entities: { [entityKey]: { revision: 1, events: ['evt/1', 'evt/1'] } },
    });
    try {
      const result = await checkStore(await AdminReader.open(api.url, KEY), expected, timing);
      expect(result.missing).toEqual(['evt/1']);
      expect(result.entityMismatch).toEqual([{ key: profile, expected: 2, actual: '1' }]);
    } finally {
      await api.close();
    }
    const doubled = await adminStandIn({
      events: { [envelope.eventId]: envelope },
      entities: { [entityKey]: { revision: 2, events: ['evt/1', 'evt/1'] } },
    });
    try {
      const result = await checkStore(await AdminReader.open(doubled.url, KEY), expected, timing);
      expect(result.duplicated).toEqual(['evt/1']);
    } finally {
      await doubled.close();
    }
  });

  it('refuses to start with a wrong key or where no /admin is served', async () => {
    const api = await adminStandIn({ events: {}, entities: {} });
    const disabled = await adminStandIn({ events: {}, entities: {}, enabled: false });
    try {
      await expect(AdminReader.open(api.url, 'wrong-key')).rejects.toThrow(FatalCheckError);
      await expect(AdminReader.open(api.url, 'wrong-key')).rejects.toThrow('refused the admin key (401)');
      await expect(AdminReader.open(disabled.url, KEY)).rejects.toThrow('no operations API at that URL');
    } finally {
      await api.close();
      await disabled.close();
    }
  });
});
