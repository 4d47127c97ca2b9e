import { Client } from 'pg';
import { topologyFor } from '../src/messaging/topology';
import { startApp, type TestApp } from './support/app';
import { Db } from './support/db';
import { uniquePrefix } from './support/env';
import { outboxEvents, postAll, shuffledStream } from './support/feed-checks';
import { FeedQueue } from './support/feed-queue';
import { waitFor } from './support/poll';
import { RabbitUser, exactly } from './support/rabbit-user';
import { ScratchDatabase } from './support/scratch-database';
import { ServiceProcess } from './support/service-process';
import { LEASES } from '../src/database/session-lease';

/*
 * The feed when a worker (dist/main.js, APP_ROLE=worker) dies by SIGKILL: after its commit and before
 * the publish, while it relays, and when two replicas share the relay. Needs a build. Ports 3401-3409.
 * The api runs in this process on the machine's broker; each test has its own prefix, database and
 * consumer queue.
 */

/** The feed relay's lease (src/database/session-lease.ts): holding it keeps every relay on standby. */
const RELAY_LEASE = [LEASES.feedRelay.classId, LEASES.feedRelay.objId];
/** FeedRelay's MAX_EVENTS_PER_ROUND. */
const ROUND = 2000;

interface Health {
  status: string;
  details: Record<string, { status: string; state?: string }>;
}

async function health(url: string): Promise<Health> {
  return (await (await fetch(`${url}/health`)).json()) as Health;
}

async function metric(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

describe('the feed when a worker is killed (kill -9)', () => {
  /** Processes and apps of the test, stopped first; then everything else, all at once. */
  const stops: (() => Promise<unknown>)[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];

  afterEach(async () => {
    await Promise.allSettled(stops.splice(0).map((stop) => stop()));
    // Independent of each other (the database is dropped WITH (FORCE)).
    await Promise.allSettled(cleanups.splice(0).map((cleanup) => cleanup()));
  });

  /** A database, a prefix, the consumer's queue and the in-process api of one test. */
  async function setUp(tag: string, prefix = uniquePrefix(tag)) {
    const scratch = await ScratchDatabase.create(tag);
    cleanups.push(() => scratch.drop());
    const feed = await FeedQueue.bind(prefix);
    cleanups.push(() => feed.deleteWithTopology());
    const api: TestApp = await startApp({ APP_ROLE: 'api', AMQP_PREFIX: prefix });
    stops.push(() => api.close());
    const db = await Db.connect(scratch.url);
    cleanups.push(() => db.close());
    const worker = (port: number, env: Record<string, string> = {}) => {
      const service = new ServiceProcess(port, {
        APP_ROLE: 'worker',
        AMQP_PREFIX: prefix,
        DATABASE_URL: scratch.url,
        CONSUMER_BATCH_SIZE: '5',
        ...env,
      });
      stops.push(() => service.dispose());
      return service;
    };
    const stored = () => db.count('SELECT count(*) FROM webhook_events');
    return { scratch, prefix, feed, api, db, worker, stored };
  }

  /** Holds the relay lease on a connection of the test's own, so no replica relays until released. */
  async function holdRelayLease(url: string) {
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query('SELECT pg_advisory_lock($1, $2)', RELAY_LEASE);
    let held = true;
    const release = async () => {
      if (!held) return;
      held = false;
      await client.query('SELECT pg_advisory_unlock($1, $2)', RELAY_LEASE);
      await client.end();
    };
    cleanups.push(() => (held ? release() : Promise.resolve()));
    return release;
  }

  it('publishes every event committed before the kill, when the dead worker could not publish them', async () => {
    const prefix = uniquePrefix('feedkill_commit');
    // A worker whose broker user may do everything but publish to `<prefix>.events`: it consumes and
    // stores, while every publish of its relay is refused (ACCESS_REFUSED closes the channel, the
    // confirms fail, the outbox keeps the entries). (Deleting the exchange does not do this: the
    // service declares it again when it reconnects, and publishes into it while the test's binding
    // is gone.)
    const creating = RabbitUser.create(`${prefix}-nopublish`, {
      write: `^(?!${exactly(topologyFor(prefix).eventsExchange).slice(1)}).*`,
    });
    cleanups.push(async () => (await creating).remove());
    const [{ feed, api, db, worker, stored }, denied] = await Promise.all([
      setUp('feedkill_commit', prefix),
      creating,
    ]);
    const first = worker(3401, { AMQP_URL: denied.url });
    await first.start();

    const { eventIds, bodies } = shuffledStream(`kc-${Date.now()}`, {
      messages: 10,
      revisions: 50,
      perDelivery: 50,
      seed: 1,
    });
    expect(new Set(await postAll(api.url, bodies, 2))).toEqual(new Set([200]));
    await waitFor(async () => (await stored()) === eventIds.length, { timeoutMs: 30000, what: 'all stored' });
    // The relay tried and failed; everything stored is still owed.
    await waitFor(async () => (await health(first.url)).details.feed?.state?.startsWith('failing: '), {
      what: 'relay failing',
    });
    expect(await metric(first.url, 'webhook_feed_relay_failures_total')).toBeGreaterThan(0);
    expect(await outboxEvents(db)).toBe(eventIds.length);
    expect(feed.copies).toHaveLength(0);

    expect(await first.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const second = worker(3402);
    await second.start();
    await feed.waitForAll(eventIds, 30000);
    await waitFor(async () => (await outboxEvents(db)) === 0, { what: 'outbox empty' });
    const counts = feed.counts();
    const extra = feed.copies.length - counts.size;
    console.log(
      `kill after commit: ${eventIds.length} stored, all on the feed after the restart, ${extra} extra copies`,
    );
    expect(counts.size).toBe(eventIds.length);
  }, 90000);

  it('publishes everything again when the worker dies after publishing, before deleting the outbox entries', async () => {
    const { scratch, feed, api, db, worker, stored } = await setUp('feedkill_relay');
    // PostgreSQL notices a vanished client even while its statement waits for a lock (Linux), as a
    // production server with this setting does; without it the dead worker's DELETE would still
    // run once the lock is released.
    await db.rows(`ALTER DATABASE ${scratch.name} SET client_connection_check_interval = '200ms'`);
    const releaseLease = await holdRelayLease(scratch.url);
    const first = worker(3403);
    await first.start();
    await waitFor(async () => (await health(first.url)).details.feed?.state?.startsWith('standby'), {
      what: 'relay on standby',
    });

    const { eventIds, bodies } = shuffledStream(`kr-${Date.now()}`, {
      messages: 10,
      revisions: 50,
      perDelivery: 50,
      seed: 2,
    });
    expect(new Set(await postAll(api.url, bodies, 2))).toEqual(new Set([200]));
    await waitFor(async () => (await stored()) === eventIds.length, { timeoutMs: 30000, what: 'all stored' });
    expect(await outboxEvents(db)).toBe(eventIds.length);

    // Lock the entries, then let the relay lead: it reads them (a plain SELECT), publishes, gets its
    // confirms, and its DELETE waits for the lock.
    const locker = new Client({ connectionString: scratch.url });
    await locker.connect();
    cleanups.push(() => locker.end());
    await locker.query('BEGIN');
    const locked = await locker.query('SELECT position FROM feed_outbox FOR UPDATE');
    expect(locked.rowCount).toBeGreaterThan(0);
    await releaseLease();
    await feed.waitForAll(eventIds, 30000);
    const [waiting] = await waitFor(
      async () => {
        const rows = await db.rows<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = $1 AND query LIKE 'DELETE FROM feed_outbox%' AND wait_event_type = 'Lock'`,
          [scratch.name],
        );
        return rows.length > 0 ? rows : null;
      },
      { what: "the relay's DELETE waiting for the lock" },
    );

    expect(await first.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor(
      async () =>
        (await db.count('SELECT count(*) FROM pg_stat_activity WHERE pid = $1', [waiting.pid])) === 0,
      { what: "the dead worker's session ended" },
    );
    await locker.query('ROLLBACK');
    // The DELETE never committed: the outbox still owes everything that was published.
    expect(await outboxEvents(db)).toBe(eventIds.length);

    const second = worker(3404);
    await second.start();
    await waitFor(async () => (await outboxEvents(db)) === 0, { timeoutMs: 30000, what: 'outbox empty' });
    await waitFor(() => feed.copies.length >= 2 * eventIds.length, { what: 'the second relay published' });
    const counts = feed.counts();
    console.log(
      `kill while relaying: ${eventIds.length} events, ${feed.copies.length} copies (each at least once; the unconfirmed round again)`,
    );
    expect(counts.size).toBe(eventIds.length);
    expect([...counts.values()].every((count) => count >= 1)).toBe(true);
    // Exactly what the dead relay had in hand was published again, once.
    expect(feed.copies.length).toBe(2 * eventIds.length);
  }, 90000);

  it('two replicas: one relays; when it is killed mid-stream the other takes over within seconds', async () => {
    const { feed, api, db, worker } = await setUp('feedkill_pair');
    const replicas = [worker(3405), worker(3406)];
    await Promise.all(replicas.map((replica) => replica.start()));
    const active = async () =>
      Promise.all(replicas.map((replica) => metric(replica.url, 'webhook_feed_relay_active')));
    const leaders = await waitFor(
      async () => {
        const values = await active();
        return values.every((value) => value !== null) && values.filter((value) => value === 1).length === 1
          ? values
          : null;
      },
      { what: 'exactly one replica relaying' },
    );
    const leader = replicas[leaders.indexOf(1)];
    const standby = replicas[1 - leaders.indexOf(1)];
    expect((await health(standby.url)).details.feed.state).toMatch(/^standby/);
    expect((await health(leader.url)).details.feed.state).toBe('relaying');

    const { eventIds, bodies } = shuffledStream(`kp-${Date.now()}`, {
      messages: 60,
      revisions: 50,
      perDelivery: 50,
      seed: 3,
    });
    const posting = postAll(api.url, bodies, 2);
    await waitFor(() => feed.copies.length >= 1000, { timeoutMs: 30000, what: '1,000 events on the feed' });
    const copiesAtKill = feed.copies.length;
    const killedAt = Date.now();
    expect(await leader.kill('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    await waitFor(async () => (await metric(standby.url, 'webhook_feed_relay_active')) === 1, {
      intervalMs: 20,
      what: 'the standby relaying',
    });
    const takeoverMs = Date.now() - killedAt;
    const statuses = await posting;
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(copiesAtKill).toBeLessThan(eventIds.length);

    await feed.waitForAll(eventIds, 60000);
    await waitFor(async () => (await outboxEvents(db)) === 0, { what: 'outbox empty' });
    const counts = feed.counts();
    const duplicates = feed.copies.length - counts.size;
    console.log(
      `two replicas: killed the relaying one at ${copiesAtKill} of ${eventIds.length} copies; takeover in ${takeoverMs} ms; ` +
        `${duplicates} duplicates`,
    );
    expect(counts.size).toBe(eventIds.length);
    expect(takeoverMs).toBeLessThan(10000);
    // Only the round the dead relay had in flight comes again: at most one round (2,000 events, plus
    // the rest of its last entry: entries here hold at most 5 deliveries of 50 events).
    expect(duplicates).toBeLessThanOrEqual(ROUND + 5 * 50 - 1);
    expect((await health(standby.url)).details.feed.state).toBe('relaying');
  }, 120000);
});
