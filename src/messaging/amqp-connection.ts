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
  private readonly listeners = new Set<(connected: boolean) => void>();

  constructor(private readonly options: AmqpConnectionOptions) {
    this.logger = new Logger(`Amqp:${options.name}`);
  }

  get channel(): ConfirmChannel | null {
    return this.current;
  }

  get connected(): boolean {
    return this.current !== null;
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
      this.logger.log('connected');
      this.emit(true);
    });
    this.model.on('disconnect', (err: Error) => {
      this.current = null;
      this.logger.warn(`disconnected: ${err.message}`);
      this.emit(false);
    });
    this.model.on('connect-failed', (err: Error) => this.logger.warn(`connect failed: ${err.message}`));
    this.model.on('error', (err: Error) => this.logger.warn(`connection error: ${err.message}`));
    this.model.on('blocked', (reason: string) => this.logger.warn(`blocked by the broker: ${reason}`));
  }

  onStateChange(listener: (connected: boolean) => void): void {
    this.listeners.add(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.current = null;
    await this.model?.close();
  }

  private async setUp(model: ChannelModel): Promise<void> {
    const channel = await model.createConfirmChannel();
    channel.on('error', (err: Error) => this.logger.warn(`channel error: ${err.message}`));
    channel.on('close', () => {
      if (this.current !== channel) return;
      this.current = null;
      if (this.closing) return;
      this.logger.warn('channel closed by the broker; reconnecting');
      this.emit(false);
      model.close().catch(() => undefined);
    });
    await declareTopology(channel, this.options.topology);
    this.current = channel;
    await this.options.onChannel?.(channel);
  }

  private emit(connected: boolean): void {
    for (const listener of this.listeners) listener(connected);
  }
}
