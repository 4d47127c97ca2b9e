import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topologyFor } from '../src/messaging/topology';
import { BrokerProbe } from './support/broker';
import { uniquePrefix } from './support/env';
import { FeedQueue, type FeedCopy } from './support/feed-queue';
import { OtlpReceiver, STATUS_ERROR, type ReceivedSpan } from './support/otlp-receiver';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';
import { ServiceProcess } from './support/service-process';
import { envelope, sign } from './support/signing';

/**
 * Tracing (DESIGN §14) from the built service, exporting OTLP/HTTP JSON to a receiver inside the
 * test: one trace from the POST through the broker and the store to the feed (and a replay), a
 * failed publish and a quarantined item in span status, logs that name the trace, and with no
 * endpoint no SDK or exporter loaded at all. Ports 3941-3949.
 */

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;
const ADMIN_KEY = 'tracing-admin-key-0123456789abcdefghij';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const traceIdOf = (traceparent: unknown) =>
  String(Buffer.isBuffer(traceparent) ? traceparent.toString('latin1') : traceparent).split('-')[1];

/**
 * A preload that writes, at exit, every module file the process had loaded: what a process loads
 * is seen from outside it, with no route or switch in the service.
 */
const scratchDir = mkdtempSync(join(tmpdir(), 'tracing-e2e-'));
const HOOK = join(scratchDir, 'loaded-modules.js');
writeFileSync(
  HOOK,
  `process.on('exit', () => require('node:fs').writeFileSync(process.env.LOADED_MODULES_FILE, JSON.stringify(Object.keys(require.cache))));\n`,
);
const loadedModules = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as string[];
const openTelemetrySdk = (modules: string[]) =>
  modules.filter((path) => /@opentelemetry[\\/](sdk-|exporter-|instrumentation)/.test(path));

/** The span ids above `span`, nearest first. */
function ancestorsOf(span: ReceivedSpan, all: ReceivedSpan[]): string[] {
  const ancestors: string[] = [];
  for (let parent = span.parentSpanId; parent;) {
    ancestors.push(parent);
    parent = all.find((each) => each.spanId === parent)?.parentSpanId;
  }
  return ancestors;
}

async function postTraced(url: string, body: Buffer, traceparent: string): Promise<Response> {
  return fetch(`${url}/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Comapi-Signature': sign(body), traceparent },
    body,
  });
}

describe('tracing', () => {
  let receiver: OtlpReceiver;
  const services: ServiceProcess[] = [];
  const prefixes: string[] = [];

  const service = (port: number, env: Record<string, string>, modulesFile?: string) => {
    const prefix = uniquePrefix('tracing');
    prefixes.push(prefix);
    const created = new ServiceProcess(port, {
      AMQP_PREFIX: prefix,
      LOG_LEVEL: 'info',
      ...(modulesFile ? { NODE_OPTIONS: `--require ${HOOK}`, LOADED_MODULES_FILE: modulesFile } : {}),
      ...env,
    });
    services.push(created);
    return { service: created, prefix };
  };

  const exporting = (serviceName: string) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: serviceName,
    OTEL_BSP_SCHEDULE_DELAY: '100',
  });

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
  });

  afterAll(async () => {
    for (const each of services) await each.dispose();
    await receiver?.close();
    const probe = await BrokerProbe.connect();
    for (const prefix of prefixes) await probe.deleteTopology(prefix);
    await probe.close();
    rmSync(scratchDir, { recursive: true, force: true });
  });

  describe('a traced delivery, role all', () => {
    let scratch: ScratchDatabase;
    let feed: FeedQueue;
    let all: ServiceProcess;
    let prefix: string;
    const modulesFile = join(scratchDir, 'all.json');
    const traceId = hex(16);
    const parentSpanId = hex(8);
    const good = envelope();
    let spans: () => ReceivedSpan[];
    let copy: FeedCopy;
    /** The traceparent the api put on the delivery: its publish span. */
    let deliveryTraceparent: string;

    beforeAll(async () => {
      scratch = await ScratchDatabase.create('tracing');
      ({ service: all, prefix } = service(
        3941,
        {
          APP_ROLE: 'all',
          DATABASE_URL: scratch.url,
          ADMIN_API_KEYS: ADMIN_KEY,
          ...exporting('tracing-e2e-all'),
        },
        modulesFile,
      ));
      feed = await FeedQueue.bind(prefix);
      await all.start();
      spans = () => receiver.spans.filter((span) => span.service === 'tracing-e2e-all');
    }, 60_000);

    afterAll(async () => {
      await feed?.deleteWithTopology();
      await scratch?.drop();
    });

    it('continues the incoming traceparent through the request, its publish, the store and the feed', async () => {
      // One good envelope and one malformed item: the item is quarantined, its neighbour stored.
      const body = Buffer.from(JSON.stringify([good, { name: 'message.sent' }]));
      const res = await postTraced(all.url, body, `00-${traceId}-${parentSpanId}-01`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ accepted: 1, quarantined: 1 });
      const deliveryId = res.headers.get('x-delivery-id');

      await feed.waitForAll([String(good.eventId)]);
      copy = feed.copies.find((each) => each.eventId === good.eventId)!;
      expect(traceIdOf(copy.headers.traceparent)).toBe(traceId);

      const feedSpanId = String(copy.headers.traceparent).split('-')[2];
      const found = await waitFor(
        () => {
          const inTrace = spans().filter((span) => span.traceId === traceId);
          const request = inTrace.find((span) => span.kind === SERVER);
          const publish = inTrace.find((span) => span.name === `publish ${prefix}.deliveries`);
          const feedPublish = inTrace.find((span) => span.spanId === feedSpanId);
          const store = spans().find((span) => span.links?.some((link) => link.traceId === traceId));
          return request && publish && feedPublish && store && { request, publish, feedPublish, store };
        },
        { timeoutMs: 20_000, what: 'the spans of the trace' },
      );
      expect(found.request.parentSpanId).toBe(parentSpanId);
      expect(found.request).toMatchObject({ name: 'POST /webhook' });
      expect(found.request.attributes).toMatchObject({
        'http.route': '/webhook',
        'webhook.delivery_id': deliveryId,
      });
      // The route names the request; Nest's middlewares make no spans of their own.
      const names = spans()
        .filter((span) => span.traceId === traceId)
        .map((span) => span.name);
      expect(names.filter((name) => name.startsWith('request handler'))).toEqual([]);
      // Below the request (the route handler's span may stand between them).
      expect(found.publish.kind).toBe(PRODUCER);
      expect(ancestorsOf(found.publish, spans())).toContain(found.request.spanId);
      expect(found.publish.attributes).toMatchObject({
        'messaging.system': 'rabbitmq',
        'webhook.delivery_id': deliveryId,
        'webhook.item_count': 2,
      });
      // The store is a trace of its own (a batch mixes traces), linked to the delivery's publish.
      expect(found.store).toMatchObject({ name: 'store deliveries', kind: CONSUMER });
      expect(found.store.links).toContainEqual(
        expect.objectContaining({ traceId, spanId: found.publish.spanId }),
      );
      // The feed publish continues the trace the event was stored with: the publish's.
      expect(found.feedPublish).toMatchObject({ kind: PRODUCER, parentSpanId: found.publish.spanId });
      deliveryTraceparent = `00-${traceId}-${found.publish.spanId}-01`;
      expect(found.feedPublish.attributes).toMatchObject({
        'messaging.rabbitmq.destination.routing_key': `applied.${String(good.name)}`,
        'webhook.event_id': good.eventId,
      });
      // What its trace says already is not repeated on each event's span.
      expect(found.feedPublish.attributes).not.toHaveProperty('webhook.delivery_id');
      expect(found.feedPublish.attributes).not.toHaveProperty('feed.replay');
    });

    it('shows the quarantined item in status ERROR with its reason, in the batch and in the delivery trace', async () => {
      const store = spans().find((span) => span.links?.some((link) => link.traceId === traceId))!;
      expect(store.status).toMatchObject({ code: STATUS_ERROR });
      expect(store.status?.message).toMatch(/1 quarantined; first: .*eventId/);
      expect(store.attributes['webhook.events.applied']).toBe(1);
      const quarantine = await waitFor(
        () => spans().find((span) => span.traceId === traceId && span.name === 'quarantine'),
        { what: 'the quarantine span' },
      );
      expect(quarantine.status).toMatchObject({
        code: STATUS_ERROR,
        message: expect.stringMatching(/eventId/),
      });
      expect(quarantine.attributes['webhook.item_index']).toBe(1);
    });

    it('writes the trace_id of the request and of the batch on their log lines', () => {
      const store = spans().find((span) => span.links?.some((link) => link.traceId === traceId))!;
      const lines = all.output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.some((line) => line.trace_id === traceId && typeof line.span_id === 'string')).toBe(true);
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'stored batch', trace_id: store.traceId }));
    });

    it('keeps the trace through a replay, which says it is one', async () => {
      const res = await fetch(`${all.url}/admin/events/replay`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          since: new Date(Date.now() - 3_600_000).toISOString(),
          until: new Date(Date.now() + 60_000).toISOString(),
          reason: 'trace through a replay',
        }),
      });
      expect(res.status).toBe(202);
      const replayed = await waitFor(
        () =>
          feed.copies.find((each) => each.eventId === good.eventId && each.headers['x-replayed'] === true),
        { what: 'the replayed copy' },
      );
      expect(traceIdOf(replayed.headers.traceparent)).toBe(traceId);
      const replaySpanId = String(replayed.headers.traceparent).split('-')[2];
      const span = await waitFor(() => spans().find((each) => each.spanId === replaySpanId), {
        what: 'the replay span',
      });
      expect(span).toMatchObject({ traceId, name: `replay ${prefix}.events` });
      expect(span.attributes['feed.replay']).toBe(true);
    });

    it('has loaded the SDK and its exporter (what the untraced process must not load)', async () => {
      expect((await all.kill('SIGTERM')).code).toBe(0);
      expect(openTelemetrySdk(loadedModules(modulesFile)).join('\n')).toMatch(/exporter-trace-otlp-http/);
    });

    it('keeps the stored trace when another replica relays, even one without tracing', async () => {
      // The traced process is gone; an untraced worker on the same database and broker takes over.
      const { service: worker } = service(3944, {
        APP_ROLE: 'worker',
        AMQP_PREFIX: prefix,
        DATABASE_URL: scratch.url,
        ADMIN_API_KEYS: ADMIN_KEY,
      });
      await worker.start();
      const before = feed.copies.length;
      const res = await fetch(`${worker.url}/admin/events/replay`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          since: new Date(Date.now() - 3_600_000).toISOString(),
          until: new Date(Date.now() + 60_000).toISOString(),
          reason: 'trace through a replay',
        }),
      });
      expect(res.status).toBe(202);
      const relayed = await waitFor(
        () => feed.copies.slice(before).find((each) => each.eventId === good.eventId),
        {
          what: 'the copy relayed by the other replica',
        },
      );
      // Untraced, it passes on exactly what was stored: the trace of the POST.
      expect(String(relayed.headers.traceparent)).toBe(deliveryTraceparent);
    });
  });

  it('ends the publish span of a delivery the broker did not take with status ERROR and the reason', async () => {
    // Nothing listens on this port: the broker is away from the first moment.
    const { service: api } = service(3942, {
      APP_ROLE: 'api',
      AMQP_URL: 'amqp://guest:guest@127.0.0.1:3949',
      ...exporting('tracing-e2e-away'),
    });
    await api.start('/health/live');
    const traceId = hex(16);
    const body = Buffer.from(JSON.stringify(envelope()));
    const res = await postTraced(api.url, body, `00-${traceId}-${hex(8)}-01`);
    expect(res.status).toBe(503);
    const publish = await waitFor(() => receiver.trace(traceId).find((span) => span.kind === PRODUCER), {
      what: 'the failed publish span',
    });
    expect(publish.status).toMatchObject({ code: STATUS_ERROR });
    expect(publish.status?.message).toMatch(/not connected to the message broker/);
    const request = receiver.trace(traceId).find((span) => span.kind === SERVER);
    expect(request?.status?.code).toBe(STATUS_ERROR);
  });

  it('without an endpoint loads no SDK, exporter or instrumentation and puts no traceparent on the message', async () => {
    const modulesFile = join(scratchDir, 'untraced.json');
    const { service: api, prefix } = service(3943, { APP_ROLE: 'api' }, modulesFile);
    await api.start();
    const before = receiver.requests;
    const body = Buffer.from(JSON.stringify(envelope()));
    const res = await postTraced(api.url, body, `00-${hex(16)}-${hex(8)}-01`);
    expect(res.status).toBe(200);
    expect((await api.kill('SIGTERM')).code).toBe(0);

    const probe = await BrokerProbe.connect();
    const messages = await probe.drain(topologyFor(prefix).queue).finally(() => probe.close());
    expect(messages).toHaveLength(1);
    expect(messages[0].properties.headers?.traceparent).toBeUndefined();
    const modules = loadedModules(modulesFile);
    expect(modules.some((path) => path.includes(join('dist', 'main.js')))).toBe(true);
    expect(openTelemetrySdk(modules)).toEqual([]);
    expect(receiver.requests).toBe(before);
  });
});
