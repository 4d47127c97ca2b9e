import { Logger } from '@nestjs/common';
import { connect, type ChannelModel, type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import { declareTopology, type Topology } from './topology';

export interface AmqpConnectionOptions {
  url: string;
  /** Shown in logs and in the broker's connection list. */
  name: string;
  topology: Topology;
  /** Runs on every fresh channel, after the topology is declared (e.g. to start consuming). */
  onChannel?: (channel: ConfirmChannel) => Promise<void>;
}

/**
 * One AMQP connection with one confirm channel, re-established on its own (amqplib's opt-in
 * recovery) after the broker goes away. While disconnected `channel` is null: callers fail fast
 * instead of buffering in memory. A channel closed by the broker (e.g. a precondition error) takes the
 * connection down with it, so there is a single recovery path.
 */
export class AmqpConnection {
  private readonly logger: Logger;
  private model?: RecoveringChannelModel;
  private current: ConfirmChannel | null = null;
  private closing = false;
  private blockedBy: string | null = null;
  private redeclaring = false;

  constructor(private readonly options: AmqpConnectionOptions) {
    this.logger = new Logger(`Amqp:${options.name}`);
  }

  get channel(): ConfirmChannel | null {
    return this.current;
  }

  get connected(): boolean {
    return this.current !== null;
  }

  /** Connected and not blocked: a publish can be confirmed now. */
  get usable(): boolean {
    return this.current !== null && this.blockedBy === null;
  }

  /** Why the broker refuses publishes on this connection right now (e.g. a memory alarm), or null. */
  get blockedReason(): string | null {
    return this.blockedBy;
  }

  /** Starts connecting; resolves at once. Use `waitUntilConnected` to wait for the broker. */
  async start(): Promise<void> {
    this.model = await connect(this.options.url, {
      clientProperties: { connection_name: this.options.name },
      recovery: {
        waitForConnect: false,
        initialDelay: 250,
        maxDelay: 5000,
        maxRetries: Infinity,
        setup: (model: ChannelModel) => this.setUp(model),
      },
    });
    this.model.on('connect', () => {
      this.blockedBy = null;
      this.logger.log('connected');
    });
    this.model.on('disconnect', (err: Error) => {
      this.current = null;
      this.blockedBy = null;
      this.logger.warn(`disconnected: ${err.message}`);
    });
    this.model.on('connect-failed', (err: Error) => this.logger.warn(`connect failed: ${err.message}`));
    this.model.on('error', (err: Error) => this.logger.warn(`connection error: ${err.message}`));
    this.model.on('blocked', (reason: string) => {
      this.blockedBy = reason || 'blocked';
      this.logger.warn(`blocked by the broker: ${this.blockedBy}`);
    });
    this.model.on('unblocked', () => {
      this.blockedBy = null;
      this.logger.log('unblocked by the broker');
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    this.current = null;
    await this.model?.close();
  }

  /**
   * Declares the topology again on the open channel: the broker returned a message as unroutable,
   * so a queue or binding was deleted under a running service. One re-declaration at a time.
   */
  redeclareTopology(): void {
    const channel = this.current;
    if (!channel || this.redeclaring) return;
    this.redeclaring = true;
    this.logger.warn('a delivery was unroutable; declaring the topology again');
    declareTopology(channel, this.options.topology)
      .catch((err: Error) => this.logger.warn(`re-declaring the topology failed: ${err.message}`))
      .finally(() => (this.redeclaring = false));
  }

  private async setUp(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (err: Error) => this.logger.warn(`channel error: ${err.message}`));
    channel.on('close', () => {
      if (this.current !== channel) return;
      this.current = null;
      if (this.closing) return;
      this.logger.warn('channel closed by the broker; reconnecting');
      model.close().catch(() => undefined);
    });
    await declareTopology(channel, this.options.topology);
    this.current = channel;
    await this.options.onChannel?.(channel);
  }
}
