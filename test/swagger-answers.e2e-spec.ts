import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { FIXTURES, postWebhook, sign } from './support/signing';

/**
 * The OpenAPI document of POST /webhook is true for every answer: each status has its own examples,
 * and the service's real answers are those examples; X-Delivery-Id is declared on each; the request
 * examples (one envelope, a batch) carry fresh ids and are accepted as they stand. /metrics is
 * described. (test/docs.e2e-spec.ts checks the document's outline.)
 */
interface Example {
  summary?: string;
  value: unknown;
}
interface ResponseDoc {
  headers?: Record<string, unknown>;
  content?: Record<string, { schema?: unknown; examples?: Record<string, Example> }>;
}
interface Document {
  paths: Record<
    string,
    Record<
      string,
      { responses: Record<string, ResponseDoc>; requestBody?: ResponseDoc; description?: string }
    >
  >;
}

const document = async (app: TestApp): Promise<Document> =>
  (await (await fetch(`${app.url}/docs-json`)).json()) as Document;

const examplesOf = (response: ResponseDoc) =>
  Object.values(response.content?.['application/json']?.examples ?? {});

describe('Swagger: an example per answer, and the answers are the examples', () => {
  let api: TestApp;
  let down: TestApp;
  let doc: Document;

  beforeAll(async () => {
    api = await startApp({ APP_ROLE: 'api' });
    // A broker that is not there: every POST is the 503 of an unreachable broker.
    down = await startApp(
      { APP_ROLE: 'api', AMQP_URL: 'amqp://guest:guest@127.0.0.1:1' },
      { waitUntilReady: false },
    );
    doc = await document(api);
  });

  afterAll(async () => {
    await api?.close();
    await down?.close();
    const probe = await BrokerProbe.connect();
    if (api) await probe.deleteTopology(api.env.AMQP_PREFIX);
    if (down) await probe.deleteTopology(down.env.AMQP_PREFIX);
    await probe.close();
  });

  const responses = () => doc.paths['/webhook'].post.responses;

  it('gives 200, 400, 401, 413 and 503 each its own JSON schema and examples of its own status', () => {
    for (const status of ['400', '401', '413', '503']) {
      const content = responses()[status].content?.['application/json'];
      expect(content?.schema).toEqual({ $ref: '#/components/schemas/ErrorBody' });
      const examples = examplesOf(responses()[status]);
      expect(examples.length).toBeGreaterThan(0);
      for (const example of examples) expect(example.value).toMatchObject({ statusCode: Number(status) });
    }
    expect(examplesOf(responses()['200']).length).toBeGreaterThan(0);
  });

  it('declares X-Delivery-Id on every answer and Retry-After on 503', () => {
    for (const [status, response] of Object.entries(responses())) {
      expect([status, Object.keys(response.headers ?? {})]).toEqual([
        status,
        expect.arrayContaining(['X-Delivery-Id']),
      ]);
    }
    expect(Object.keys(responses()['503'].headers ?? {})).toContain('Retry-After');
  });

  it('answers exactly as documented: 400, 401, 413 and 503', async () => {
    const documented = (status: number) =>
      examplesOf(responses()[String(status)]).map((example) => example.value);
    const check = async (res: Response, status: number, exact = true) => {
      expect(res.status).toBe(status);
      expect(res.headers.get('x-delivery-id')).toMatch(/^[0-9a-f-]{36}$/);
      const body = (await res.json()) as { statusCode: number; error: string; message: string };
      if (exact) expect(documented(status)).toContainEqual(body);
      return body;
    };
    const notJson = Buffer.from('this is not JSON');
    await check(await postWebhook(api.url, notJson), 400);
    const notAnEnvelope = Buffer.from('{"name":"message.sent"}');
    await check(await postWebhook(api.url, notAnEnvelope), 400);
    await check(await postWebhook(api.url, '{}', { signature: null }), 401);
    await check(
      await postWebhook(api.url, '{}', { signature: sign('{}', 'another-secret-entirely-0000') }),
      401,
    );
    const tooLarge = Buffer.alloc(10 * 1024 * 1024 + 1, 0x20);
    await check(await postWebhook(api.url, tooLarge), 413);
    // The broker example names the documented broker address; the shape and text are the same.
    const unreachable = await check(await postWebhook(down.url, '{"eventId":"x","name":"y"}'), 503, false);
    const [example] = documented(503) as { message: string }[];
    expect(unreachable.message.replace(/\(.*\)$/, '')).toBe(example.message.replace(/\(.*\)$/, ''));
    expect(unreachable).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });
  });

  it('offers one envelope and a batch with fresh ids, accepted as they stand', async () => {
    const examples = doc.paths['/webhook'].post.requestBody?.content?.['application/json']?.examples ?? {};
    expect(Object.keys(examples)).toEqual(expect.arrayContaining(['single', 'batch']));
    const single = examples.single.value as { eventId: string };
    const batch = examples.batch.value as { eventId: string }[];
    expect(Array.isArray(batch) && batch.length).toBeGreaterThan(1);
    const fixtureIds = readdirSync(FIXTURES)
      .filter((name) => name.endsWith('.json'))
      .flatMap((name) =>
        [...readFileSync(join(FIXTURES, name), 'utf8').matchAll(/"eventId":\s*"([^"]+)"/g)].map((m) => m[1]),
      );
    const ids = [single.eventId, ...batch.map((item) => item.eventId)];
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(fixtureIds).not.toContain(id);
    }
    // Another instance's document has other ids.
    const other = await document(down);
    const otherSingle = other.paths['/webhook'].post.requestBody?.content?.['application/json']?.examples
      ?.single.value as { eventId: string };
    expect(otherSingle.eventId).not.toBe(single.eventId);

    const one = await postWebhook(api.url, JSON.stringify(single, null, 2));
    expect(await one.json()).toEqual({ accepted: 1, quarantined: 0 });
    const many = await postWebhook(api.url, JSON.stringify(batch, null, 2));
    expect(await many.json()).toEqual({ accepted: batch.length, quarantined: 0 });
    expect(doc.paths['/webhook'].post.description).toMatch(
      /repeated eventId is answered 200 like any other and stored once/,
    );
    expect(doc.paths['/webhook'].post.description).toMatch(/test page/);
  });

  it('describes /metrics', () => {
    const metrics = doc.paths['/metrics']?.get;
    expect(metrics).toBeDefined();
    expect(JSON.stringify(metrics.responses['200'])).toContain('text/plain');
  });
});
