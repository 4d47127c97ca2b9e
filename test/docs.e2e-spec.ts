import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { OTHER_SECRET, TEST_SECRET } from './support/env';
import { waitFor } from './support/poll';
import { fixture, postWebhook } from './support/signing';

interface Operation {
  parameters?: { name: string; in: string; required?: boolean }[];
  security?: Record<string, string[]>[];
  requestBody?: {
    required?: boolean;
    content: Record<string, { schema: { anyOf?: Record<string, unknown>[]; type?: string } }>;
  };
  responses: Record<string, unknown>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: {
    schemas?: Record<string, unknown>;
    securitySchemes?: Record<string, { type: string; scheme?: string }>;
  };
}

const ADMIN_KEY = 'admin-key-of-the-docs-tests-0123456789abcdef';

describe('API documentation (api role)', () => {
  let app: TestApp;
  let document: OpenApiDocument;
  let raw: string;

  beforeAll(async () => {
    // ADMIN_API_KEYS set: the api role has no database, so no /admin, whatever the keys.
    app = await startApp({
      APP_ROLE: 'api',
      WEBHOOK_SECRETS: `${TEST_SECRET},${OTHER_SECRET}`,
      ADMIN_API_KEYS: ADMIN_KEY,
    });
    const res = await fetch(`${app.url}/docs-json`);
    expect(res.status).toBe(200);
    raw = await res.text();
    document = JSON.parse(raw) as OpenApiDocument;
  });

  afterAll(async () => {
    if (!app) return;
    await app.close();
    const probe = await BrokerProbe.connect();
    await probe.deleteTopology(app.env.AMQP_PREFIX);
    await probe.close();
  });

  it('serves an OpenAPI 3 document at /docs-json', () => {
    expect(document.openapi).toMatch(/^3\./);
  });

  it('describes GET /webhook as an HTML page', () => {
    const get = document.paths['/webhook']?.get;
    expect(get).toBeDefined();
    expect(Object.keys(get.responses)).toContain('200');
    expect(JSON.stringify(get.responses['200'])).toContain('text/html');
  });

  it('describes X-Comapi-Signature as the security scheme of POST /webhook, which a gateway does not enforce', () => {
    const post = document.paths['/webhook']?.post;
    expect(post).toBeDefined();
    expect(post.security).toEqual([{ comapiSignature: [] }, {}]);
    expect(document.components?.securitySchemes).toEqual({
      comapiSignature: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'X-Comapi-Signature' }),
    });
    expect(post.parameters ?? []).toEqual([]);
  });

  it('describes the POST body as any bytes, with one envelope and an array of envelopes as its shapes', () => {
    const content = document.paths['/webhook'].post.requestBody?.content ?? {};
    expect(Object.keys(content).sort()).toEqual(['*/*', 'application/json']);
    expect(content['*/*'].schema).toMatchObject({ type: 'string', format: 'binary' });
    const shapes = content['application/json'].schema.anyOf ?? [];
    expect(shapes).toHaveLength(3);
    const [one, many, anything] = shapes;
    expect(one).toEqual({ $ref: '#/components/schemas/EnvelopeDoc' });
    expect(many).toEqual({ type: 'array', items: { $ref: '#/components/schemas/EnvelopeDoc' } });
    expect(Object.keys(anything)).toEqual(['description']);
    expect(document.paths['/webhook'].post.requestBody?.required).toBe(false);
    expect(document.components?.schemas?.EnvelopeDoc).toMatchObject({
      required: expect.arrayContaining(['eventId', 'name']),
    });
  });

  it('declares the public routes public (security: [])', () => {
    for (const path of ['/health', '/health/ready', '/health/live', '/metrics', '/webhook'])
      expect([path, document.paths[path].get.security]).toEqual([path, []]);
  });

  it('describes the answers 200, 400, 401, 413 and 503 of POST /webhook', () => {
    const responses = document.paths['/webhook'].post.responses;
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(['200', '400', '401', '413', '503']));
    expect(JSON.stringify(responses['503'])).toContain('Retry-After');
  });

  it('documents the health routes', () => {
    for (const path of ['/health', '/health/ready', '/health/live'])
      expect(document.paths[path]?.get).toBeDefined();
  });

  it('shows only the routes the api role serves: no /admin', () => {
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/admin'))).toEqual([]);
  });

  it('never shows a configured secret', () => {
    expect(raw).not.toContain(TEST_SECRET);
    expect(raw).not.toContain(OTHER_SECRET);
    expect(raw).not.toContain(ADMIN_KEY);
  });

  it('serves the Swagger UI at /docs', async () => {
    const res = await fetch(`${app.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/swagger/i);
    expect(html).not.toContain(TEST_SECRET);
  });
});

describe('worker role', () => {
  let app: TestApp;
  let probe: BrokerProbe;

  beforeAll(async () => {
    probe = await BrokerProbe.connect();
    app = await startApp({ APP_ROLE: 'worker', ADMIN_API_KEYS: ADMIN_KEY });
  });

  afterAll(async () => {
    if (app) {
      await app.close();
      await probe.deleteTopology(app.env.AMQP_PREFIX);
    }
    await probe?.close();
  });

  it('serves /health/live', async () => {
    const res = await fetch(`${app.url}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('has no /webhook: GET and a signed POST are 404', async () => {
    await waitFor(async () => (await fetch(`${app.url}/health/ready`)).status === 200, {
      what: 'worker ready',
    });
    const page = await fetch(`${app.url}/webhook`);
    expect(page.status).toBe(404);
    await page.body?.cancel();
    const res = await postWebhook(app.url, fixture('message.sent.json'));
    expect(res.status).toBe(404);
    await res.body?.cancel();
  });

  it('documents the routes the worker serves: /admin (bearer auth) and health, no /webhook', async () => {
    const res = await fetch(`${app.url}/docs-json`);
    expect(res.status).toBe(200);
    const raw = await res.text();
    const document = JSON.parse(raw) as OpenApiDocument;
    expect(document.openapi).toMatch(/^3\./);
    expect(document.paths['/webhook']).toBeUndefined();
    for (const path of ['/health', '/health/ready', '/health/live'])
      expect(document.paths[path]?.get).toBeDefined();
    const admin: [string, string][] = [
      ['get', '/admin/events'],
      ['get', '/admin/events/{eventId}'],
      ['get', '/admin/entities/{entityType}/{entityId}'],
      ['get', '/admin/quarantine'],
      ['get', '/admin/quarantine/{id}'],
      ['post', '/admin/quarantine/{id}/replay'],
      ['post', '/admin/quarantine/{id}/resolve'],
      ['get', '/admin/dead-letters'],
      ['post', '/admin/dead-letters/replay'],
      ['post', '/admin/events/replay'],
      ['get', '/admin/audit'],
      ['get', '/admin/destinations'],
      ['post', '/admin/destinations/{name}/pause'],
      ['post', '/admin/destinations/{name}/resume'],
      ['post', '/admin/destinations/{name}/enable'],
      ['post', '/admin/destinations/{name}/retry'],
    ];
    expect(
      Object.entries(document.paths)
        .filter(([path]) => path.startsWith('/admin'))
        .flatMap(([path, operations]) =>
          Object.keys(operations)
            .filter((method) => method !== 'head')
            .map((method) => [method, path]),
        )
        .sort(),
    ).toEqual([...admin].sort());
    // HEAD, answered wherever GET is, is described as its GET.
    for (const [, path] of admin.filter(([method]) => method === 'get'))
      expect(document.paths[path].head?.responses).toEqual(document.paths[path].get.responses);
    for (const [method, path] of admin) {
      const operation = document.paths[path][method];
      expect([path, operation.security]).toEqual([path, [{ bearer: [] }]]);
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['400', '401']));
    }
    // Bearer keys are opaque, not JWTs; the webhook's scheme is not in this role's document.
    expect(document.components?.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.any(String) },
    });
    const filters = (document.paths['/admin/events'].get.parameters ?? []).map((p) => p.name);
    expect(filters).toEqual(
      expect.arrayContaining([
        'name',
        'apiSpaceId',
        'entityType',
        'entityId',
        'outcome',
        'deliveryId',
        'since',
        'until',
        'limit',
        'cursor',
      ]),
    );
    expect(raw).not.toContain(ADMIN_KEY);
    expect(raw).not.toContain(TEST_SECRET);
  });

  it('serves the Swagger UI at /docs', async () => {
    const res = await fetch(`${app.url}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toMatch(/swagger/i);
  });
});
