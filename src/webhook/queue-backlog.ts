import { connect } from 'amqplib';
import { topologyFor } from '../messaging/topology';

export type Backlog =
  | { known: true; queue: string; waiting: number; consumers: number }
  | { known: false; queue: string; why: string };

const CACHE_MS = 5000;
const TIMEOUT_MS = 2000;

/**
 * How many deliveries wait in `<prefix>.deliveries` (not yet taken by a consumer) and how many
 * consumers the queue has, for the test page: one passive `queue.declare` (checkQueue) on a
 * short-lived connection of its own, so a page view never touches the publisher's or the
 * consumer's channel (a missing queue closes the channel it is asked on). At most one look every 5 s
 * however often the page is loaded; a look takes at most about 2 s.
 */
export class QueueBacklog {
  private readonly queue: string;
  private last: { at: number; backlog: Promise<Backlog> } | null = null;

  constructor(
    private readonly urls: readonly string[],
    prefix: string,
  ) {
    this.queue = topologyFor(prefix).queue;
  }

  read(): Promise<Backlog> {
    if (this.last && Date.now() - this.last.at < CACHE_MS) return this.last.backlog;
    const backlog = this.look();
    this.last = { at: Date.now(), backlog };
    return backlog;
  }

  private async look(): Promise<Backlog> {
    let why = 'no broker URL';
    for (const url of this.urls) {
      try {
        return await this.lookAt(url);
      } catch (err) {
        why = err instanceof Error ? err.message : String(err);
      }
    }
    return { known: false, queue: this.queue, why };
  }

  /** One look, bounded: a connection that opens after the deadline is closed at once. */
  private lookAt(url: string): Promise<Backlog> {
    return new Promise<Backlog>((resolve, reject) => {
      let late = false;
      const timer = setTimeout(() => {
        late = true;
        reject(new Error(`no answer within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      connect(url, { timeout: TIMEOUT_MS }).then(
        async (model) => {
          model.on('error', () => undefined);
          try {
            if (late) return;
            const channel = await model.createChannel();
            channel.on('error', () => undefined);
            const { messageCount, consumerCount } = await channel.checkQueue(this.queue);
            resolve({ known: true, queue: this.queue, waiting: messageCount, consumers: consumerCount });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          } finally {
            clearTimeout(timer);
            await model.close().catch(() => undefined);
          }
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  }
}
