import { connect } from 'amqplib';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DatabaseReader,
  FeedWatcher,
  checkStore,
  runSimulation,
  type Ledger,
  type SimEnvelope,
} from '../src/simulator';
import { startApp, type TestApp } from './support/app';
import { BrokerProbe } from './support/broker';
import { Db } from './support/db';
import { AMQP_URL, OTHER_SECRET, TEST_SECRET, uniquePrefix } from './support/env';
import { waitFor } from './support/poll';
import { ScratchDatabase } from './support/scratch-database';

const run = promisify(execFile);

/**
 * The simulator against the real service (APP_ROLE=all, in this process) and its real PostgreSQL:
 * what it acknowledged must be what the database holds. The service's database is a scratch one, so
 * the spec can count every row independently of the simulator's own check.
 */
describe('Dotdigital sender simulator against the service', () => {
  let scratch: ScratchDatabase;
  let app: TestApp;
  let db: Db;

  beforeAll(async () => {
    scratch = await ScratchDatabase.create('simulator');
    app = await startApp({ APP_ROLE: 'all', DATABASE_URL: scratch.url });
    db = await Db.connect(scratch.url);
    // Migrations run at start-up; the simulator's database check wants the tables before it sends.
    await waitFor(
      async () =>
        (await db.rows<{ t: string | null }>(`SELECT to_regclass('entity_revisions')::text AS t`))[0].t !==
        null,
      { timeoutMs: 30000, what: 'migrations applied' },
    );
  });

  afterAll(async () => {
    await app?.close();
    if (app) {
      const probe = await BrokerProbe.connect();
      await probe.deleteTopology(app.env.AMQP_PREFIX);
      await probe.close();
    }
    await db?.close();
    await scratch?.drop();
  });

  it('balances: every acknowledged event stored once with its envelope, every entity at its highest revision', async () => {
    const verdict = await runSimulation({
      url: app.url,
      secret: TEST_SECRET,
      events: 600,
      apiSpaces: ['sim-e2e-a', 'sim-e2e-b'],
      batchSize: 60,
      repeatShare: 0.15,
      concurrency: 6,
      timeScale: 0.001,
      checkDatabase: scratch.url,
      settleTimeoutMs: 30000,
      pollIntervalMs: 100,
    });

    expect(verdict.failures).toEqual([]);
    expect(verdict.balanced).toBe(true);
    expect(verdict.answers).toEqual({ '200': verdict.run.deliveries });
    expect(verdict.acknowledged.events).toBe(600);
    expect(verdict.run.repeats).toBe(90);
    expect(verdict.checks.database).toMatchObject({
      events: 600,
      storedOnce: 600,
      entitiesMatching: verdict.acknowledged.entities,
      missing: { count: 0 },
    });

    // The same facts, read by the spec itself rather than by the simulator.
    expect(await db.count('SELECT count(*) FROM webhook_events')).toBe(600);
    expect(await db.count(`SELECT count(*) FROM entity_revisions`)).toBe(verdict.acknowledged.entities);
    // Shuffled revisions reached the service out of order: some events arrived after a higher one.
    expect(await db.count(`SELECT count(*) FROM webhook_events WHERE outcome = 'stale'`)).toBeGreaterThan(0);
    // Untracked: exactly the families without a revision (clicks, conversation, presence, facebook).
    const withoutRevision = `name IN ('interaction.click', 'conversation.participantAdded', 'presence.available', 'facebook.optin')`;
    expect(await db.count(`SELECT count(*) FROM webhook_events WHERE ${withoutRevision}`)).toBeGreaterThan(
      60,
    );
    expect(await db.count(`SELECT count(*) FROM webhook_events WHERE outcome = 'untracked'`)).toBe(
      await db.count(`SELECT count(*) FROM webhook_events WHERE ${withoutRevision}`),
    );
    // Every family of the contract arrived, each with the rule's entity (presence: its top-level profileId).
    const families = await db.rows<{ entity_type: string }>(
      'SELECT DISTINCT entity_type FROM webhook_events ORDER BY entity_type',
    );
    expect(families.map((f) => f.entity_type)).toEqual([
      'chat',
      'chatMessage',
      'conversation',
      'conversationMessage',
      'facebook',
      'interaction',
      'message',
      'presence',
      'profile',
    ]);
    expect(await db.count(`SELECT count(*) FROM webhook_events WHERE entity_id IS NULL`)).toBe(0);
    expect(
      await db.count(
        `SELECT count(*) FROM webhook_events WHERE name = 'presence.available' AND entity_id IS DISTINCT FROM payload->>'profileId'`,
      ),
    ).toBe(0);
    expect(verdict.checks.database?.wrongEntity.count).toBe(0);
    const latest = await db.rows<{ n: string }>(
      `SELECT count(*) AS n FROM entity_revisions r
         JOIN webhook_events e ON e.event_id = r.event_id
        WHERE e.revision = r.revision AND e.outcome = 'applied'`,
    );
    expect(Number(latest[0].n)).toBe(verdict.acknowledged.entities);
  });

  it('fails and reports the loss when the service refuses the signature (401), never retrying', async () => {
    const before = await db.count('SELECT count(*) FROM webhook_events');
    const verdict = await runSimulation({
      url: app.url,
      secret: OTHER_SECRET,
      events: 50,
      timeScale: 0.001,
      checkDatabase: scratch.url,
      settleTimeoutMs: 2000,
    });

    expect(verdict.balanced).toBe(false);
    expect(verdict.answers).toEqual({ '401': verdict.run.deliveries });
    expect(verdict.retries).toBe(0);
    expect(verdict.deliveries).toEqual({ acknowledged: 0, refused: verdict.run.deliveries, dropped: 0 });
    expect(verdict.lost.count).toBe(50);
    expect(verdict.failures).toEqual([
      '50 events lost: no delivery carrying them was acknowledged (refused (401))',
    ]);
    expect(await db.count('SELECT count(*) FROM webhook_events')).toBe(before);
  });

  it('finds an event missing, an envelope altered and an entity behind in the real database', async () => {
    let ledger: Ledger | undefined;
    const verdict = await runSimulation(
      { url: app.url, secret: TEST_SECRET, events: 60, checkDatabase: scratch.url, settleTimeoutMs: 30000 },
      { onLedger: (settled) => (ledger = settled) },
    );
    expect(verdict.balanced).toBe(true);
    const events = ledger!.acknowledgedEvents();
    const entities = ledger!.expectedEntities();
    const [gone, altered] = [...events.keys()];
    const behind = [...entities.values()].find((entity) => entity.revision >= 2)!;

    // Damage the stored data behind the service's back, then check again.
    await db.rows('DELETE FROM webhook_events WHERE event_id = $1', [gone]);
    await db.rows(
      `UPDATE webhook_events SET payload = jsonb_set(payload, '{etag}', '"x"') WHERE event_id = $1`,
      [altered],
    );
    await db.rows(
      `UPDATE entity_revisions SET revision = revision - 1
        WHERE api_space_id = $1 AND entity_type = $2 AND entity_id = $3`,
      [behind.key.apiSpaceId, behind.key.entityType, behind.key.entityId],
    );
    const reader = await DatabaseReader.open(scratch.url);
    try {
      const result = await checkStore(
        reader,
        { events, entities },
        { settleTimeoutMs: 500, pollIntervalMs: 50 },
      );
      expect(result.missing).toEqual([gone]);
      expect(result.payloadMismatch).toEqual([altered]);
      expect(result.duplicated).toEqual([]);
      expect(result.entityMismatch).toEqual([
        { key: behind.key, expected: behind.revision, actual: String(behind.revision - 1) },
      ]);
      expect(result.entitiesMatching).toBe(entities.size - 1);
    } finally {
      await reader.close();
    }
  });

  it('runs as a command: exit code 0 and a JSON verdict', async () => {
    const main = join(__dirname, '..', 'src', 'simulator', 'main.ts');
    const { stdout } = await run(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        main,
        '--url',
        app.url,
        '--events',
        '80',
        '--json',
        '--quiet',
        '--time-scale',
        '0.001',
        '--check-database',
        scratch.url,
        '--settle-timeout',
        '30s',
      ],
      { env: { ...process.env, SIMULATOR_SECRET: TEST_SECRET }, cwd: join(__dirname, '..') },
    );
    const verdict = JSON.parse(stdout);
    expect(verdict).toMatchObject({ balanced: true, failures: [], acknowledged: { events: 80 } });
  }, 90000);
});

/**
 * The feed check with the real RabbitMQ. The spec publishes to `<prefix>.events` itself, in the
 * service's place (the feed's message shape, docs/architecture.md), so the check's judging is tested on a real broker
 * whether or not the service's feed is there yet.
 */
describe('feed check on the real broker', () => {
  const envelope = (eventId: string, name = 'message.sent', revision?: number): SimEnvelope => ({
    eventId,
    accountId: 1,
    apiSpaceId: 'space',
    name,
    payload: { messageId: `m-${eventId}` },
    ...(revision === undefined ? {} : { revision }),
    etag: '"x"',
    timestamp: '2026-11-20T09:26:14.801Z',
  });

  it('declares its queue before sending, then finds missing, different, duplicated and foreign events', async () => {
    const prefix = uniquePrefix('sim-feed');
    const [a, b, c, click] = [
      envelope('a', 'message.sent', 1),
      envelope('b', 'message.read', 3),
      envelope('c', 'message.sent', 1),
      envelope('k', 'interaction.click'),
    ];
    const watcher = await FeedWatcher.start(AMQP_URL, prefix, new Set(['a', 'b', 'c', 'k', 'refused']));
    const model = await connect(AMQP_URL);
    try {
      const channel = await model.createConfirmChannel();
      // The exchange is there (the watcher declared it) and the watcher's queue is bound: nothing is lost.
      await channel.checkExchange(`${prefix}.events`);
      const publish = (routingKey: string, messageId: string, content: unknown) =>
        channel.publish(`${prefix}.events`, routingKey, Buffer.from(JSON.stringify(content)), {
          messageId,
          contentType: 'application/json',
          persistent: true,
        });
      publish('applied.message.sent', 'a', a);
      publish('applied.message.sent', 'a', a);
      publish('applied.message.read', 'b', { ...b, revision: 4 });
      publish('applied.interaction.click', 'k', click);
      publish('applied.message.sent', 'someone-else', envelope('someone-else'));
      publish('applied.message.sent', 'refused', envelope('refused'));
      await channel.waitForConfirms();

      const acknowledged = new Map([a, b, c, click].map((e) => [e.eventId, e]));
      const result = await watcher.finish(acknowledged, { settleTimeoutMs: 1500, pollIntervalMs: 50 });
      expect(result).toMatchObject({
        expected: 4,
        arrived: 3,
        missing: ['c'],
        duplicates: 1,
        contentMismatch: ['b'],
        routingMismatch: ['k'],
        unacknowledged: ['refused'],
        foreign: 1,
      });
      // Its queue went with its connection.
      const check = await model.createChannel();
      check.on('error', () => undefined);
      await expect(check.checkQueue(watcher.queue)).rejects.toThrow(/NOT_FOUND/);
    } finally {
      await watcher.close();
      const cleanup = await model.createChannel();
      await cleanup.deleteExchange(`${prefix}.events`);
      await model.close();
    }
  });
});
