import { Logger } from '@nestjs/common';
import { connect, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay, type Backoff } from '../common/backoff';
import { BrokerUnavailableError } from './broker-unavailable.error';
import {
  describe,
  publishAllConfirmed,
  publishConfirmed,
  type OutgoingMessage,
  type PublishLimits,
} from './confirmed-publish';

export type { OutgoingMessage, PublishLimits } from './confirmed-publish';
import { declareTopology, type Topology } from './topology';

export interface AmqpConnectionOptions {
  /** The nodes of the cluster, tried in turn: when one is unreachable or goes away, the next. */
  urls: readonly string[];
  /** Shown in logs and in the broker's connection list. */
  name: string;
  topology: Topology;
}

/** Runs on every fresh channel, after the topology is declared (e.g. to start consuming). */
export type ChannelSetup = (channel: ConfirmChannel) => Promise<void>;

export interface ConnectionStatus {
  /** A publish can be confirmed now: connected and not blocked by the broker. */
  usable: boolean;
  /** For people: `connected`, `blocked: <reason>`, `disconnected: <last error>`. */
  state: string;
}

/** Seconds between heartbeats when the URL names none: a silent broker is noticed in about 20 s. */
const HEARTBEAT_SECONDS = 10;
const CONNECT_TIMEOUT_MS = 5000;
/** Between attempts to reach a node: 250 ms doubling to 5 s, spread ±20 % so replicas do not reconnect in step. */
const RECONNECT_BACKOFF: Backoff = { baseMs: 250, maxMs: 5000, jitter: 0.2 };

/**
 * One AMQP connection with one confirm channel, re-established on its own after the broker goes
 * away, moving through the configured nodes. While disconnected, publishes fail at once instead of
 * buffering in memory. A channel closed by the broker (e.g. a precondition error) takes the
 * connection down with it, so there is a single recovery path.
 */
export class AmqpConnection {
  private readonly logger: Logger;
  private model: ChannelModel | null = null;
  private current: ConfirmChannel | null = null;
  private closing = false;
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;
  private blockedBy: string | null = null;
  private lastError = 'not connected yet';
  private redeclaring = false;
  /** Message ids of mandatory publishes the broker returned as unroutable (before their confirm). */
  private readonly returned = new Set<string>();
  private onChannel: ChannelSetup | null = null;

  constructor(private readonly options: AmqpConnectionOptions) {
    if (options.urls.length === 0) throw new Error('AmqpConnection needs at least one URL');
    this.logger = new Logger(`Amqp:${options.name}`);
  }

  /** The open channel, for AMQP-aware callers that consume and acknowledge; null while disconnected. */
  get channel(): ConfirmChannel | null {
    return this.current;
  }

  status(): ConnectionStatus {
    if (!this.current) return { usable: false, state: `disconnected: ${this.lastError}` };
    if (this.blockedBy) return { usable: false, state: `blocked: ${this.blockedBy}` };
    return { usable: true, state: 'connected' };
  }

  /** Starts connecting in the background and returns at once. */
  start(): void {
    this.running ??= this.run();
  }

  /** Starts connecting, running `setup` on every fresh channel (a consumer's basic.consume). */
  startWith(setup: ChannelSetup): void {
    this.onChannel = setup;
    this.start();
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stop.abort();
    const channel = this.current;
    this.current = null;
    const model = this.model;
    if (model) {
      // A graceful close waits for the broker's answer; a dead connection would never give one.
      const cut = setTimeout(() => destroySocket(model), 2000);
      // The channel first: its close is answered only after the broker has handled the acks sent
      // before it on that channel. A connection close alone can overtake them (amqplib writes each
      // channel's frames in turn), and the broker would then deliver the acked messages again.
      await channel?.close().catch(() => undefined);
      await model.close().catch(() => undefined);
      clearTimeout(cut);
    }
    await this.running;
  }

  /**
   * Publishes one persistent message and resolves only on the broker's confirm of that very
   * message. Rejects with BrokerUnavailableError when there is no channel, the broker blocks
   * publishes, nacks, returns a mandatory message as unroutable, the channel closes, or no confirm
   * comes within the limit. A confirm that never comes usually means a dead connection: it is
   * replaced, so the next publishes find a live one.
   */
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    properties: Options.Publish,
    limits: PublishLimits,
  ): Promise<void> {
    const channel = this.publishable();
    if (channel instanceof BrokerUnavailableError) return Promise.reject(channel);
    return publishConfirmed(channel, { exchange, routingKey }, content, properties, limits, {
      wasReturned: (messageId) => this.returned.delete(messageId),
      onTimeout: () => this.noConfirm(channel, limits),
    });
  }

  /** Publishes messages in order, resolving once all are confirmed (publishAllConfirmed); as publish otherwise. */
  publishAll(messages: readonly OutgoingMessage[], limits: PublishLimits): Promise<void> {
    const channel = this.publishable();
    if (channel instanceof BrokerUnavailableError) return Promise.reject(channel);
    return publishAllConfirmed(channel, messages, limits, () => this.noConfirm(channel, limits));
  }

  /** The channel to publish on, or why there is none usable. */
  private publishable(): ConfirmChannel | BrokerUnavailableError {
    if (!this.current)
      return new BrokerUnavailableError(`not connected to the message broker (${this.lastError})`);
    if (this.blockedBy)
      return new BrokerUnavailableError(`the message broker is refusing publishes (${this.blockedBy})`);
    return this.current;
  }

  /** A confirm that never came usually means a dead connection (unless the broker blocks publishes). */
  private noConfirm(channel: ConfirmChannel, limits: PublishLimits): void {
    if (!this.blockedBy) this.replace(channel, `no confirm within ${limits.timeoutMs} ms`);
  }

  /**
   * Declares the topology again: the broker returned a message as unroutable, so a queue or binding
   * was deleted under a running service. One re-declaration at a time.
   */
  private redeclareTopology(channel: ConfirmChannel): void {
    if (this.redeclaring) return;
    this.redeclaring = true;
    this.logger.warn('a message was unroutable; declaring the topology again');
    declareTopology(channel, this.options.topology)
      .catch((err: Error) => this.logger.warn(`re-declaring the topology failed: ${err.message}`))
      .finally(() => (this.redeclaring = false));
  }

  /** Connect, serve until the connection is lost, wait, try the next node; until closed. */
  private async run(): Promise<void> {
    for (let attempt = 0, node = 0; !this.closing; node = (node + 1) % this.options.urls.length) {
      const url = this.options.urls[node];
      try {
        const { lost } = await this.open(url);
        if (this.closing) {
          // close() ran while this connection was being opened: it did not see it.
          await this.model?.close().catch(() => undefined);
          return;
        }
        attempt = 0;
        this.logger.log(`connected to ${hostOf(url)}`);
        const reason = await lost;
        if (this.closing) return;
        this.logger.warn(`disconnected from ${hostOf(url)}: ${reason}`);
      } catch (err) {
        this.lastError = describe(err);
        await this.model?.close().catch(() => undefined);
        this.model = null;
        this.logger.warn(`connecting to ${hostOf(url)} failed: ${this.lastError}`);
      }
      const delay = backoffDelay(attempt++, RECONNECT_BACKOFF);
      await sleep(delay, undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
  }

  /** Opens a connection and its channel; `lost` resolves with why the connection ended. */
  private async open(url: string): Promise<{ lost: Promise<string> }> {
    const model = await connect(withHeartbeat(url), {
      clientProperties: { connection_name: this.options.name },
      timeout: CONNECT_TIMEOUT_MS,
    });
    this.model = model;
    this.blockedBy = null;
    const lost = new Promise<string>((resolve) => {
      model.on('close', (err?: Error) => {
        this.current = null;
        this.blockedBy = null;
        this.model = null;
        this.lastError = err ? describe(err) : 'connection closed';
        resolve(this.lastError);
      });
    });
    model.on('error', (err: Error) => this.logger.warn(`connection error: ${err.message}`));
    model.on('blocked', (reason: string) => {
      this.blockedBy = reason || 'blocked';
      this.logger.warn(`blocked by the broker: ${this.blockedBy}`);
    });
    model.on('unblocked', () => {
      this.blockedBy = null;
      this.logger.log('unblocked by the broker');
    });

    const channel = await model.createConfirmChannel();
    channel.on('error', (err: Error) => this.logger.warn(`channel error: ${err.message}`));
    channel.on('close', () => this.replace(channel, 'channel closed by the broker'));
    channel.on('return', (message: { properties: { messageId?: unknown } }) => {
      const id = message.properties.messageId;
      if (typeof id === 'string') this.returned.add(id);
      // The returned message gets an error; the next ones find the queue again.
      this.redeclareTopology(channel);
    });
    await declareTopology(channel, this.options.topology);
    this.returned.clear();
    this.current = channel;
    await this.onChannel?.(channel);
    return { lost };
  }

  /**
   * Drops the connection of `channel` (if still the current one) so that `run` opens a new one. The
   * socket is cut rather than closed politely: a connection that stopped confirming would not
   * answer a close either.
   */
  private replace(channel: ConfirmChannel, why: string): void {
    if (this.current !== channel || this.closing) return;
    this.current = null;
    this.lastError = why;
    this.logger.warn(`${why}; reconnecting`);
    if (this.model) destroySocket(this.model);
  }
}

/** amqplib has no public abort; its connection's socket is `connection.stream`. */
function destroySocket(model: ChannelModel): void {
  const stream = (model as unknown as { connection?: { stream?: { destroy(error?: Error): void } } })
    .connection?.stream;
  stream?.destroy(new Error('connection abandoned'));
}

function withHeartbeat(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(HEARTBEAT_SECONDS));
  return parsed.toString();
}

/** host:port only: a URL's credentials never reach a log line. */
function hostOf(url: string): string {
  return new URL(url).host;
}
