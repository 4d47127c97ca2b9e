/**
 * What the deploy proofs share: they run against the machine's PostgreSQL and RabbitMQ (the image
 * proof with a Docker engine too) and clean up after themselves even when a check fails.
 */
import { connect } from 'amqplib';
import { createHmac, randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { topologyFor } from '../../src/messaging/topology';
import { ADMIN_DATABASE_URL, AMQP_URL } from '../support/env';
import type { Cleanup } from '../support/processes';
import { databaseUrl, withAdmin } from '../support/scratch-database';

export { ADMIN_DATABASE_URL, AMQP_URL };
export const REPO = resolve(__dirname, '..', '..');
/** A secret for these checks only (never a real one). */
export const SECRET = 'deploy-check-secret-0123456789abcdef';

/**
 * One check, with what it claims shown when it fails (jest's `expect` takes no message): the proofs
 * check many facts of one file in one test, and the failing one must say which.
 */
export function verify(condition: unknown, claim: string): asserts condition {
  expect({ claim, holds: Boolean(condition) }).toEqual({ claim, holds: true });
}

export function sign(body: Buffer | string, secret = SECRET): string {
  return createHmac('sha1', secret).update(body).digest('hex');
}

export function randomTag(): string {
  return randomBytes(4).toString('hex');
}

/** A database of the proof's own on the machine's PostgreSQL, dropped on cleanup. */
export async function createDatabase(cleanup: Cleanup, tag: string): Promise<string> {
  const name = `deploy_${tag}_${randomTag()}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  cleanup.add(`drop database ${name}`, () =>
    withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  );
  return databaseUrl(name);
}

export async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** An AMQP prefix of the proof's own; its queues and exchanges are deleted on cleanup. */
export function amqpPrefix(cleanup: Cleanup, tag: string): string {
  const prefix = `deploy-${tag}-${randomTag()}`;
  cleanup.add(`delete AMQP topology ${prefix}`, () => deleteTopology(prefix));
  return prefix;
}

async function deleteTopology(prefix: string): Promise<void> {
  const topology = topologyFor(prefix);
  const model = await connect(AMQP_URL);
  try {
    for (const queue of [topology.queue, topology.deadLetterQueue]) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(queue).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
    for (const exchange of [topology.exchange, topology.deadLetterExchange]) {
      const channel = await model.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteExchange(exchange).catch(() => undefined);
      await channel.close().catch(() => undefined);
    }
  } finally {
    await model.close();
  }
}

/** Takes every message now in `queue` (a consumer with a prefetch: one basic.get each is slow). */
export async function drainQueue(queue: string): Promise<Buffer[]> {
  const model = await connect(AMQP_URL);
  try {
    const channel = await model.createChannel();
    const { messageCount: expected } = await channel.checkQueue(queue);
    const bodies: Buffer[] = [];
    if (expected === 0) return bodies;
    await channel.prefetch(500);
    await new Promise<void>((resolveDrain, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`drained ${bodies.length} of ${expected} messages`)),
        30000,
      );
      void channel.consume(queue, (message) => {
        if (!message) return;
        bodies.push(message.content);
        channel.ack(message);
        if (bodies.length === expected) {
          clearTimeout(timer);
          resolveDrain();
        }
      });
    });
    return bodies;
  } finally {
    await model.close();
  }
}

/** The value of one sample (`name{labels}` exactly as exposed) of a Prometheus text exposition. */
export function metricSample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  if (line === undefined) throw new Error(`no sample ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** The built entry point (DEPLOY_SERVICE_MAIN for a private build). */
export function serviceMain(): string {
  return process.env.DEPLOY_SERVICE_MAIN ?? join(REPO, 'dist', 'main.js');
}

/** A well-formed envelope with a unique eventId. */
export function envelope(eventId: string): Record<string, unknown> {
  return {
    eventId,
    accountId: 40213,
    apiSpaceId: 'space-deploy',
    name: 'message.sent',
    payload: { id: `msg-${eventId}` },
    revision: 1,
    etag: '"1c-deploy"',
    timestamp: new Date().toISOString(),
  };
}
