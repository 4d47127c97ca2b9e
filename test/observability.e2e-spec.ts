import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { OTHER_SECRET, TEST_SECRET, runDatabaseUrl, uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ServiceProcess } from './support/service-process';
import { envelope, postWebhook, sign } from './support/signing';

/**
 * Structured logs and /metrics of the built service (`node dist/main.js`) in a child process: its
 * stdout is what a log shipper reads, /metrics what Prometheus scrapes. Ports 3320-3329.
 */

/** One pino line: the fields these tests read, and whatever else it holds. */
interface LogLine {
  level: number;
  msg?: string;
  context?: string;
  deliveryId?: string;
  deliveryIds?: string[];
  req?: { method?: string; url?: string; headers: Record<string, unknown> };
  res?: { statusCode: number };
  [field: string]: unknown;
}

/** Every line of output must be one JSON object (pino): nothing unstructured, no multi-line text. */
function parseLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}

/** The value of one sample (`name{labels}` exactly as exposed) in Prometheus text format. */
function sample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

const SECRETS = [TEST_SECRET, OTHER_SECRET];

describe('observability: JSON logs and /metrics', () => {
  let db: Db;
  let probe: BrokerProbe;
  const services: ServiceProcess[] = [];
  const prefixes: string[] = [];

  const start = async (port: number, env: Record<string, string>): Promise<ServiceProcess> => {
    const prefix = uniquePrefix('observability');
    prefixes.push(prefix);
    const service = new ServiceProcess(port, {
      APP_ROLE: 'all',
      DATABASE_URL: runDatabaseUrl(),
      AMQP_PREFIX: prefix,
      WEBHOOK_SECRETS: SECRETS.join(','),
      ...env,
    });
    services.push(service);
    await service.start();
    return service;
  };

  beforeAll(async () => {
    db = await Db.connect();
    probe = await BrokerProbe.connect();
  });

  afterAll(async () => {
    for (const service of services) await service.dispose();
    for (const prefix of prefixes) await probe.deleteTopology(prefix);
    await probe.close();
    await db.close();
  });

  describe('after known traffic (LOG_LEVEL=info)', () => {
    let service: ServiceProcess;
    let output: LogLine[];
    let metrics: string;
    const signatures: string[] = [];
    const ids: Record<'batch' | 'repeat' | 'badSignature' | 'unsigned' | 'notJson' | 'tooLarge', string> = {
      batch: '',
      repeat: '',
      badSignature: '',
      unsigned: '',
      notJson: '',
      tooLarge: '',
    };
    const messageId = `obs-msg-${randomUUID()}`;
    const twoHoursAgo = new Date(Date.now() - 2 * 3600 * 1000).toISOString();
    const applied = envelope({
      eventId: `obs-${randomUUID()}`,
      payload: { id: messageId },
      revision: 2,
      timestamp: twoHoursAgo,
    });
    const stale = envelope({
      eventId: `obs-${randomUUID()}`,
      payload: { id: messageId },
      revision: 1,
      timestamp: twoHoursAgo,
    });
    const untracked = envelope({
      eventId: `obs-${randomUUID()}`,
      name: 'interaction.click',
      payload: {},
      timestamp: twoHoursAgo,
    });

    const events = (outcome: string) => sample(metrics, `webhook_events_total{outcome="${outcome}"}`);
    const refresh = async () => (metrics = await (await fetch(`${service.url}/metrics`)).text());

    beforeAll(async () => {
      service = await start(3320, { LOG_LEVEL: 'info', BODY_LIMIT: '64kb' });
      const post = async (
        key: keyof typeof ids,
        body: Buffer,
        signature: string | null,
        expected: number,
      ) => {
        if (signature) signatures.push(signature);
        const res = await postWebhook(service.url, body, { signature });
        expect(res.status).toBe(expected);
        ids[key] = res.headers.get('x-delivery-id') ?? '';
        expect(ids[key]).not.toBe('');
        return res;
      };
      // Each delivery is stored before the next is sent, so each is one consumer batch.
      const batch = Buffer.from(JSON.stringify([applied, stale, untracked, 42]));
      const first = await post('batch', batch, sign(batch, TEST_SECRET), 200);
      expect(await first.json()).toEqual({ accepted: 3, quarantined: 1 });
      await waitFor(async () => (await refresh(), events('applied') === 1), { what: 'batch stored' });

      const repeat = Buffer.from(JSON.stringify(applied));
      await post('repeat', repeat, sign(repeat, OTHER_SECRET), 200);
      await waitFor(async () => (await refresh(), events('duplicate') === 1), { what: 'repeat seen' });

      const unsigned = Buffer.from(JSON.stringify(envelope()));
      await post('badSignature', unsigned, sign(unsigned, 'not-a-configured-secret-000000'), 401);
      await post('unsigned', unsigned, null, 401);

      const notJson = Buffer.from('this is not JSON');
      await post('notJson', notJson, sign(notJson, TEST_SECRET), 400);
      await waitFor(
        async () => (await refresh(), sample(metrics, 'webhook_quarantined_total{kind="delivery"}') === 1),
        {
          what: 'bad body quarantined',
        },
      );

      const tooLarge = Buffer.alloc(100 * 1024, 'a');
      await post('tooLarge', tooLarge, sign(tooLarge, TEST_SECRET), 413);

      await refresh();
      // The request lines of all six deliveries are written before the process is stopped.
      await waitFor(() => Object.values(ids).every((id) => service.output.includes(`"deliveryId":"${id}"`)), {
        what: 'a request line per delivery',
      });
      expect(await service.kill('SIGTERM')).toEqual({ code: 0, signal: null });
      output = parseLines(service.output);
    });

    it('counts deliveries by result', () => {
      const deliveries = (result: string) => sample(metrics, `webhook_deliveries_total{result="${result}"}`);
      expect({
        accepted: deliveries('accepted'),
        bad_signature: deliveries('bad_signature'),
        malformed: deliveries('malformed'),
        too_large: deliveries('too_large'),
        broker_unavailable: deliveries('broker_unavailable'),
      }).toEqual({ accepted: 2, bad_signature: 2, malformed: 1, too_large: 1, broker_unavailable: 0 });
    });

    it('counts events by outcome, repeated eventIds and dead letters', () => {
      expect({
        applied: events('applied'),
        stale: events('stale'),
        untracked: events('untracked'),
        duplicate: events('duplicate'),
        quarantined: events('quarantined'),
      }).toEqual({ applied: 1, stale: 1, untracked: 1, duplicate: 1, quarantined: 1 });
      // Rows kept: the batch's bad item, and the unreadable body as a whole (not an event).
      expect(sample(metrics, 'webhook_quarantined_total{kind="item"}')).toBe(1);
      expect(sample(metrics, 'webhook_quarantined_total{kind="delivery"}')).toBe(1);
      expect(sample(metrics, 'webhook_event_conflicts_total')).toBe(0);
      expect(sample(metrics, 'webhook_repeated_event_ids_total')).toBe(1);
      expect(sample(metrics, 'webhook_dead_lettered_deliveries_total{reason="storage_failed"}')).toBe(0);
    });

    it('times publisher confirms, consumer batches, our storage lag and the sender’s lag apart', () => {
      // Three deliveries reached the broker (the malformed one too: it is kept), in three batches.
      expect(sample(metrics, 'webhook_publish_confirm_seconds_count')).toBe(3);
      expect(sample(metrics, 'webhook_consumer_batch_seconds_count')).toBe(3);
      // Three events stored seconds after the api received them: our own lag.
      expect(sample(metrics, 'webhook_event_storage_lag_seconds_count')).toBe(3);
      expect(sample(metrics, 'webhook_event_storage_lag_seconds_bucket{le="30"}')).toBe(3);
      // Each was received two hours after its own timestamp: the sender's lag, between 1 h and 6 h.
      expect(sample(metrics, 'webhook_event_sender_lag_seconds_count')).toBe(3);
      expect(sample(metrics, 'webhook_event_sender_lag_seconds_bucket{le="3600"}')).toBe(0);
      expect(sample(metrics, 'webhook_event_sender_lag_seconds_bucket{le="21600"}')).toBe(3);
    });

    it('exposes the Node.js default metrics', () => {
      expect(sample(metrics, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(sample(metrics, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
      expect(metrics).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
    });

    it('stores what the metrics count', async () => {
      expect(
        await db.rows(
          `SELECT event_id, outcome FROM webhook_events WHERE event_id = ANY($1) ORDER BY outcome`,
          [[applied.eventId, stale.eventId, untracked.eventId]],
        ),
      ).toEqual([
        { event_id: applied.eventId, outcome: 'applied' },
        { event_id: stale.eventId, outcome: 'stale' },
        { event_id: untracked.eventId, outcome: 'untracked' },
      ]);
      expect(
        await db.rows(
          `SELECT delivery_id, item_index FROM quarantined_deliveries WHERE delivery_id = ANY($1) ORDER BY delivery_id`,
          [[ids.batch, ids.notJson]],
        ),
      ).toEqual(
        [
          { delivery_id: ids.batch, item_index: 3 },
          { delivery_id: ids.notJson, item_index: null },
        ].sort((a, b) => a.delivery_id.localeCompare(b.delivery_id)),
      );
    });

    it('writes one JSON request line per delivery with status, duration, delivery id and event count', () => {
      const requestLine = (key: keyof typeof ids) => {
        const lines = output.filter((line) => line.req?.url === '/webhook' && line.deliveryId === ids[key]);
        expect(lines).toHaveLength(1);
        return lines[0];
      };
      const batch = requestLine('batch');
      expect(batch).toMatchObject({
        level: 30,
        msg: 'request completed',
        deliveryId: ids.batch,
        events: 4,
        req: { method: 'POST', url: '/webhook', headers: { 'x-comapi-signature': '[redacted]' } },
        res: { statusCode: 200 },
      });
      expect(typeof batch.responseTime).toBe('number');
      expect(typeof batch.time).toBe('number');
      expect(requestLine('repeat')).toMatchObject({ level: 30, events: 1, res: { statusCode: 200 } });
      // Refusals are warnings, so LOG_LEVEL=warn still shows them.
      expect(requestLine('badSignature')).toMatchObject({ level: 40, res: { statusCode: 401 } });
      expect(requestLine('unsigned')).toMatchObject({ level: 40, res: { statusCode: 401 } });
      expect(requestLine('unsigned').req?.headers).not.toHaveProperty('x-comapi-signature');
      expect(requestLine('notJson')).toMatchObject({ level: 40, res: { statusCode: 400 } });
      expect(requestLine('tooLarge')).toMatchObject({ level: 40, res: { statusCode: 413 } });
    });

    it('writes consumer lines naming the delivery ids and their outcomes', () => {
      const stored = output.filter((line) => line.msg === 'stored batch');
      expect(stored.find((line) => line.deliveryIds?.includes(ids.batch))).toMatchObject({
        context: 'EventProcessor',
        applied: 1,
        stale: 1,
        untracked: 1,
        duplicate: 0,
        quarantined: 1,
      });
      expect(stored.find((line) => line.deliveryIds?.includes(ids.repeat))).toMatchObject({ duplicate: 1 });
      expect(stored.find((line) => line.deliveryIds?.includes(ids.notJson))).toMatchObject({
        quarantined: 1,
      });
    });

    it('never writes a configured secret or a signature value', () => {
      const raw = service.output;
      expect(signatures).toHaveLength(5);
      for (const secret of SECRETS) expect(raw).not.toContain(secret);
      for (const signature of signatures) {
        expect(raw).not.toContain(signature);
        expect(raw.toLowerCase()).not.toContain(signature.toLowerCase());
      }
    });
  });

  it('drops the info request lines at LOG_LEVEL=warn and keeps the warnings', async () => {
    const service = await start(3321, { LOG_LEVEL: 'warn' });
    const event = envelope();
    const body = Buffer.from(JSON.stringify(event));
    const ok = await postWebhook(service.url, body);
    expect(ok.status).toBe(200);
    const refused = await postWebhook(service.url, body, {
      signature: sign(body, 'not-a-configured-secret-000000'),
    });
    expect(refused.status).toBe(401);
    const refusedId = refused.headers.get('x-delivery-id');
    // The accepted delivery is taken in and stored as usual: only its log line is gone.
    await waitFor(
      () => db.count(`SELECT count(*) FROM webhook_events WHERE event_id = $1`, [event.eventId]),
      {
        what: 'the accepted event stored',
      },
    );
    await waitFor(() => service.output.includes(`"deliveryId":"${refusedId}"`), {
      what: 'the 401 request line',
    });
    expect(await service.kill('SIGTERM')).toEqual({ code: 0, signal: null });

    const lines = parseLines(service.output);
    expect(lines.filter((line) => line.level < 40)).toEqual([]);
    expect(lines.some((line) => line.deliveryId === ok.headers.get('x-delivery-id'))).toBe(false);
    expect(lines.filter((line) => line.deliveryId === refusedId)).toEqual([
      expect.objectContaining({ level: 40, res: expect.objectContaining({ statusCode: 401 }) }),
    ]);
  });

  it('exposes every metric the alert rules and the dashboard use (ops/metrics.txt), with the queues sampled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'observability-'));
    try {
      const spaces = join(dir, 'spaces.json');
      writeFileSync(spaces, JSON.stringify({ 'space-observability': ['observability-space-secret-0001'] }));
      // Every optional part on: the feed (default), retention, API spaces (their reload counter).
      const service = await start(3322, {
        LOG_LEVEL: 'warn',
        RETENTION_DAYS: '30',
        WEBHOOK_SPACES_FILE: spaces,
      });
      expect((await postWebhook(service.url, JSON.stringify(envelope()))).status).toBe(200);
      const names = readFileSync(join(__dirname, '..', 'ops', 'metrics.txt'), 'utf8')
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line.length > 0);
      let text = '';
      // The queue gauge is read from the broker at each scrape: present once its connection is up.
      await waitFor(
        async () => {
          text = await (await fetch(`${service.url}/metrics`)).text();
          return text.includes('webhook_queue_messages{queue="deliveries"}');
        },
        { what: 'webhook_queue_messages sampled' },
      );
      const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((match) => match[1]));
      expect(names.filter((name) => !exposed.has(name))).toEqual([]);
      expect(sample(text, 'webhook_queue_messages{queue="dead_letter"}')).toBe(0);
      expect(sample(text, 'webhook_intake_bytes_in_flight')).toBe(0);
      expect(await service.kill('SIGTERM')).toEqual({ code: 0, signal: null });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
