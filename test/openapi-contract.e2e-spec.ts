import { BODY_LIMIT, CORPUS, type HttpSend } from './corpus/cases';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import {
  requestGate,
  responseChecker,
  type Answer,
  type OpenApiDocument,
  type SentRequest,
} from './support/openapi-check';
import { waitFor } from './support/poll';
import { httpSend } from './support/raw-http';
import { ScratchDatabase } from './support/scratch-database';
import { sign } from './support/signing';

/**
 * The service against its own /docs-json, checked with tools nobody here wrote. Every HTTP request
 * of the corpus (test/corpus/cases.ts; its raw-socket cases are framing, not requests a validator
 * sees), and what the other e2e tests ask of /admin, /health and /metrics, is sent to the service,
 * and also through a validating gateway built on the document (express-openapi-validator): a request
 * the service answers 2xx, 401, 413 or 503 is never refused by the gateway (Dotdigital drops a
 * delivery answered 4xx). Every answer validates against the document under a strict OpenAPI 3.0
 * validator (ajv, strict).
 */

const ADMIN_KEY = 'admin-key-of-the-openapi-contract-0123456789';
const MUST_PASS = (status: number) => (status >= 200 && status < 300) || [401, 413, 503].includes(status);

interface Exchange {
  label: string;
  sent: SentRequest;
  answer: Answer;
  /** The app that answered: its own document is the contract. */
  app: 'all' | 'down';
}

describe('the OpenAPI document is a contract: requests pass a validating gateway, answers validate', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let down: TestApp;
  let db: Db;
  const documents = {} as Record<Exchange['app'], OpenApiDocument>;
  const exchanges: Exchange[] = [];

  const send = async (label: string, sent: SentRequest, to: Exchange['app'] = 'all') => {
    const answer = await httpSend((to === 'all' ? app : down).url, {
      method: sent.method,
      path: sent.path,
      headers: sent.headers,
      body: sent.body,
    });
    exchanges.push({ label, sent, answer, app: to });
    return answer;
  };

  /** An operations API request (with the key unless `key` says otherwise); its answer's JSON. */
  const admin = async (
    path: string,
    { method = 'GET', body, key = ADMIN_KEY }: { method?: string; body?: unknown; key?: string | null } = {},
  ) => {
    const headers: Record<string, string> = key === null ? {} : { authorization: `Bearer ${key}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const answer = await send(`${method} /admin${path}`, {
      method,
      path: `/admin${path}`,
      headers,
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
    });
    return JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  };

  /** What the other e2e tests ask of the operations API, health and metrics; and a broker that is down. */
  async function otherRequests(): Promise<void> {
    type Item = { eventId: string; entityType: string; entityId: string | null; apiSpaceId: string | null };
    const events = async (query: string) => (await admin(`/events?${query}`)).items as Item[];
    await waitFor(async () => (await events('limit=3')).length > 0, { what: 'corpus events stored' });
    const page = await admin('/events?limit=2');
    await admin(`/events?limit=2&cursor=${encodeURIComponent(page.nextCursor as string)}`);
    await events('name=message.sent&outcome=applied&since=2026-01-01T00:00:00Z&until=2030-01-01T00:00:00Z');
    const items = await events('limit=500');
    const entity = items.find((item) => item.entityId !== null && item.entityType === 'message')!;
    const story = `/entities/message/${encodeURIComponent(entity.entityId!)}`;
    await admin(`/events/${encodeURIComponent(items[0].eventId)}`);
    await admin('/events/no-such-event');
    await admin(story);
    await admin(`${story}?apiSpaceId=${encodeURIComponent(entity.apiSpaceId ?? '')}`);
    await db.rows(
      `INSERT INTO entity_revisions (api_space_id, entity_type, entity_id, revision, event_id, event_name)
       VALUES ('another-space', 'message', $1, 1, 'evt-elsewhere', 'message.sent')`,
      [entity.entityId],
    );
    await admin(story);
    await admin(`${story}?apiSpaceId=another-space`);
    await admin('/entities/message/no-such-message');
    const kept = await waitFor(
      async () => ((await admin('/quarantine?limit=2')).items as { id: number }[])[0],
      { what: 'a quarantined corpus item' },
    );
    await admin('/quarantine?since=2026-01-01T00:00:00Z&limit=500');
    await admin(`/quarantine/${kept.id}`);
    const reason = 'contract check';
    await admin(`/quarantine/${kept.id}/replay`, { method: 'POST', body: { reason } });
    await admin(`/quarantine/${kept.id}/replay`, { method: 'POST', body: { reason } }); // already replayed: 409
    await admin(`/quarantine/${kept.id}/replay`, { method: 'POST', body: {} }); // no reason: 400
    await admin('/dead-letters');
    await admin('/dead-letters/replay?limit=1', { method: 'POST', body: { reason } });
    await admin('/events/replay', {
      method: 'POST',
      body: { since: '2030-01-01T00:00:00Z', until: '2030-01-02T00:00:00Z', reason },
    });
    await admin('/audit');
    for (const bad of [
      '/events?limit=0',
      '/events?since=2026-11-21T00:00:00Z&until=2026-11-20T00:00:00Z',
      '/quarantine/0',
    ])
      await admin(bad);
    await admin('/events', { key: null });
    await admin('/events', { key: 'not-a-key-of-this-service-0123456789abcdef' });
    for (const path of ['/health', '/health/ready', '/health/live', '/metrics', '/webhook'])
      await send(`GET ${path}`, { method: 'GET', path, headers: {} });
    // A broker that is not there: 503s.
    const body = Buffer.from('{"eventId":"e-down","name":"message.sent"}');
    const headers = { 'content-type': 'application/json', 'x-comapi-signature': sign(body) };
    await send('POST /webhook, broker down', { method: 'POST', path: '/webhook', headers, body }, 'down');
    for (const path of ['/health', '/health/ready'])
      await send(`GET ${path}, broker down`, { method: 'GET', path, headers: {} }, 'down');
  }

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('openapi_contract');
    app = await startApp({
      APP_ROLE: 'all',
      DATABASE_URL: scratch.url,
      BODY_LIMIT: String(BODY_LIMIT),
      ADMIN_API_KEYS: ADMIN_KEY,
    });
    down = await startApp(
      { APP_ROLE: 'api', AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' },
      { waitUntilReady: false },
    );
    db = await Db.connect(scratch.url);
    for (const [role, target] of [
      ['all', app],
      ['down', down],
    ] as const)
      documents[role] = (await (await fetch(`${target.url}/docs-json`)).json()) as OpenApiDocument;
    for (const c of CORPUS)
      if (c.send.kind === 'http') await send(`${c.group}: ${c.name}`, corpusRequest(c.send));
    await otherRequests();
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await down?.close();
    await db?.close();
    const probe = await BrokerProbe.connect();
    if (app) await probe.deleteTopology(app.env.AMQP_PREFIX);
    if (down) await probe.deleteTopology(down.env.AMQP_PREFIX);
    await probe.close();
    await scratch?.drop();
  });

  it('lets every request the service answers 2xx, 401, 413 or 503 through the gateway', async () => {
    const gates = { all: await requestGate(documents.all), down: await requestGate(documents.down) };
    const refused: string[] = [];
    let passed = 0;
    for (const { label, sent, answer, app: to } of exchanges) {
      if (!MUST_PASS(answer.status)) continue;
      const verdict = await gates[to].check(sent);
      // /admin without a bearer key: the gateway enforces the scheme /admin declares and answers
      // the service's own 401. (The webhook's signature scheme it lets through, to the service.)
      const sameRefusal = verdict.status === 401 && answer.status === 401 && !sent.headers.authorization;
      if (verdict.status === 204 || (sameRefusal && sent.path.startsWith('/admin'))) passed += 1;
      else {
        refused.push(
          `${label} (service ${answer.status}, gateway ${verdict.status}: ${JSON.stringify(verdict.body)})`,
        );
      }
    }
    await Promise.all(Object.values(gates).map((gate) => gate.close()));
    expect(refused).toEqual([]);
    expect(passed).toBeGreaterThan(80);
  });

  it('says no more than the service takes: the gateway refuses what the service answers 400 for its bounds', async () => {
    const gate = await requestGate(documents.all);
    const headers = { authorization: `Bearer ${ADMIN_KEY}` };
    const verdicts: [string, number, number][] = [];
    for (const path of [
      '/admin/events?limit=1.5',
      '/admin/events?limit=0',
      '/admin/events?limit=501',
      '/admin/events?since=2026-11-20',
      '/admin/events?until=yesterday',
      '/admin/events?outcome=maybe',
      `/admin/events?name=${'n'.repeat(201)}`,
      '/admin/events?cursor=',
      '/admin/quarantine/0',
      '/admin/quarantine/-1',
      '/admin/quarantine/1e20',
      '/admin/dead-letters/replay?limit=0',
    ]) {
      const post = path.startsWith('/admin/dead-letters');
      const method = post ? 'POST' : 'GET';
      const sent = post
        ? {
            method,
            path,
            headers: { ...headers, 'content-type': 'application/json' },
            body: Buffer.from('{"reason":"bounds check"}'),
          }
        : { method, path, headers };
      const service = await httpSend(app.url, sent);
      const verdict = await gate.check(sent);
      verdicts.push([path, service.status, verdict.status]);
    }
    await gate.close();
    expect(verdicts).toEqual(verdicts.map(([path]) => [path, 400, 400]));
  });

  it('answers every request as the document says (strict OpenAPI 3.0 validator)', () => {
    const checks = { all: responseChecker(documents.all), down: responseChecker(documents.down) };
    const problems = exchanges.flatMap(({ label, sent, answer, app: to }) =>
      checks[to](sent, answer).map((problem) => `${label}: ${problem}`),
    );
    expect(problems).toEqual([]);
    const statuses = new Set(exchanges.map((exchange) => exchange.answer.status));
    expect([...statuses]).toEqual(expect.arrayContaining([200, 202, 400, 401, 404, 409, 413, 503]));
  });
});

/** The request a corpus case sends (as test/corpus.e2e-spec.ts sends it). */
function corpusRequest(send: HttpSend): SentRequest {
  const { method = 'POST', path = '/webhook', body, contentType, headers: extra = {} } = send;
  const headers: Record<string, string | string[]> = { ...extra };
  const type = contentType === undefined ? 'application/json' : contentType;
  if (type !== null) headers['Content-Type'] = type;
  const signature = send.signature === undefined ? sign(body ?? Buffer.alloc(0)) : send.signature;
  if (signature !== null) headers['X-Comapi-Signature'] = signature;
  return { method, path, headers, body };
}
