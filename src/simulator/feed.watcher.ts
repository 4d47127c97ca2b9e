import { connect, type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { trackedEntityOf, type SimEnvelope } from './envelope.types';
import type { StoreCheckTiming } from './store.check';

export interface FeedCheckResult {
  expected: number;
  arrived: number;
  missing: string[];
  /** Extra copies of events that arrived more than once (allowed: the feed is at least once). */
  duplicates: number;
  contentMismatch: string[];
  /** Routing key not `<outcome>.<name>`, or an outcome that contradicts the event's revision. */
  routingMismatch: string[];
  /** Run events on the feed that no delivery got acknowledged. */
  unacknowledged: string[];
  /** Messages of other events (a live deployment's own traffic): counted, not judged. */
  foreign: number;
  error?: string;
  waitedMs: number;
}

/** One message of the feed as a watcher keeps it: its routing key and its body (parsed when JSON). */
export interface FeedCopy {
  routingKey: string;
  content: unknown;
}

/** A message body as JSON when it is, else its text (judged as a mismatch). */
export function feedContentOf(body: Buffer): unknown {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Polls until every acknowledged event has a copy or the settle timeout passed. */
export async function awaitFeedCopies(
  acknowledged: ReadonlyMap<string, SimEnvelope>,
  copies: ReadonlyMap<string, readonly FeedCopy[]>,
  timing: StoreCheckTiming,
): Promise<void> {
  const started = Date.now();
  const allArrived = () => [...acknowledged.keys()].every((eventId) => copies.has(eventId));
  while (!allArrived() && Date.now() - started < timing.settleTimeoutMs) await sleep(timing.pollIntervalMs);
}

/**
 * Judges the copies that came against the acknowledged events: each arrived (at least once), its
 * body the sent envelope, its routing key `<outcome>.<name>`. A copy of an event no delivery got
 * acknowledged is `unacknowledged` when `runEvents` says it is the run's (or no `runEvents` is
 * given: the watcher keeps only run events), else `foreign`.
 */
export function judgeFeedCopies(
  acknowledged: ReadonlyMap<string, SimEnvelope>,
  copies: ReadonlyMap<string, readonly FeedCopy[]>,
  seen: Pick<FeedCheckResult, 'foreign' | 'error' | 'waitedMs'> & {
    runEvents?: ReadonlyMap<string, unknown>;
  },
): FeedCheckResult {
  const result: FeedCheckResult = {
    expected: acknowledged.size,
    arrived: 0,
    missing: [],
    duplicates: 0,
    contentMismatch: [],
    routingMismatch: [],
    unacknowledged: [],
    foreign: seen.foreign,
    error: seen.error,
    waitedMs: seen.waitedMs,
  };
  for (const [eventId, envelope] of acknowledged) {
    const copiesOf = copies.get(eventId);
    if (!copiesOf) {
      result.missing.push(eventId);
      continue;
    }
    result.arrived += 1;
    result.duplicates += copiesOf.length - 1;
    const sent: unknown = JSON.parse(JSON.stringify(envelope));
    if (!copiesOf.every((copy) => isDeepStrictEqual(copy.content, sent)))
      result.contentMismatch.push(eventId);
    if (!copiesOf.every((copy) => routingFits(copy.routingKey, envelope)))
      result.routingMismatch.push(eventId);
  }
  for (const eventId of copies.keys()) {
    if (acknowledged.has(eventId)) continue;
    if (!seen.runEvents || seen.runEvents.has(eventId)) result.unacknowledged.push(eventId);
    else result.foreign += 1;
  }
  return result;
}

/**
 * Watches the downstream feed during a run. Started BEFORE sending, so no event can be
 * published before the queue exists: it declares the topic exchange `<prefix>.events` (durable, as
 * the service does, when absent) and a server-named exclusive auto-delete queue bound with `#`,
 * which RabbitMQ removes when the watcher's connection closes.
 */
export class FeedWatcher {
  private readonly copies = new Map<string, FeedCopy[]>();
  private foreign = 0;
  private error?: string;
  private closed = false;

  /** The server-named queue, for logs and tests; it disappears with the connection. */
  queue = '';

  private constructor(
    private readonly model: ChannelModel,
    private readonly runEventIds: ReadonlySet<string>,
  ) {}

  static async start(url: string, prefix: string, runEventIds: ReadonlySet<string>): Promise<FeedWatcher> {
    const model = await connect(url);
    const watcher = new FeedWatcher(model, runEventIds);
    model.on('error', (err: Error) => (watcher.error = `feed connection: ${err.message}`));
    try {
      const channel: Channel = await model.createChannel();
      channel.on('error', (err: Error) => (watcher.error = `feed channel: ${err.message}`));
      const exchange = `${prefix}.events`;
      await channel.assertExchange(exchange, 'topic', { durable: true });
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(queue, exchange, '#');
      watcher.queue = queue;
      await channel.consume(queue, (message) => watcher.take(message), { noAck: true });
    } catch (err) {
      await model.close().catch(() => undefined);
      throw err;
    }
    return watcher;
  }

  private take(message: ConsumeMessage | null): void {
    if (!message) {
      this.error = 'the broker cancelled the feed consumer';
      return;
    }
    const eventId = String(message.properties.messageId);
    if (!this.runEventIds.has(eventId)) {
      this.foreign += 1;
      return;
    }
    const copy = { routingKey: message.fields.routingKey, content: feedContentOf(message.content) };
    const list = this.copies.get(eventId);
    if (list) list.push(copy);
    else this.copies.set(eventId, [copy]);
  }

  /**
   * Waits until every acknowledged event arrived or the settle timeout passed, judges what came,
   * and closes the connection (which removes the queue).
   */
  async finish(acknowledged: Map<string, SimEnvelope>, timing: StoreCheckTiming): Promise<FeedCheckResult> {
    const started = Date.now();
    await awaitFeedCopies(acknowledged, this.copies, timing);
    await this.close();
    return judgeFeedCopies(acknowledged, this.copies, {
      foreign: this.foreign,
      error: this.error,
      waitedMs: Date.now() - started,
    });
  }

  /** Closes the connection (idempotent); RabbitMQ then deletes the exclusive queue. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.model.close().catch(() => undefined);
  }
}

/** `<outcome>.<name>`: `untracked` exactly for events without an entity or integer revision. */
function routingFits(routingKey: string, envelope: SimEnvelope): boolean {
  const dot = routingKey.indexOf('.');
  const [outcome, name] = [routingKey.slice(0, dot), routingKey.slice(dot + 1)];
  if (name !== envelope.name) return false;
  return trackedEntityOf(envelope) ? outcome === 'applied' || outcome === 'stale' : outcome === 'untracked';
}
