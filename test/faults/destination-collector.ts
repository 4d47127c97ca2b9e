import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';

/** What the HTTP destination saw of the acknowledged events. */
export interface DestinationCheck {
  ok: boolean;
  missing: number;
  badSignatures: number;
  waitedMs: number;
}

/**
 * A customer's HTTP endpoint for the service's destinations (DESTINATIONS_FILE, filter `#`): answers
 * 204 to every request whose Standard Webhooks signature verifies, and keeps the `webhook-id`s it
 * received. The ledger's check: every acknowledged event arrived at least once, whatever the fault.
 */
export class DestinationCollector {
  private readonly ids = new Set<string>();
  badSignatures = 0;

  private constructor(
    private readonly server: Server,
    private readonly verifier: Webhook,
    readonly secret: string,
  ) {}

  static async start(): Promise<DestinationCollector> {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        res.writeHead(
          collector.take(req.headers as Record<string, string>, Buffer.concat(chunks)) ? 204 : 400,
        );
        res.end();
      });
    });
    const collector = new DestinationCollector(server, new Webhook(secret), secret);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return collector;
  }

  /** Writes a DESTINATIONS_FILE naming this endpoint, for the workers. */
  writeFile(path: string): void {
    const url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/faults`;
    writeFileSync(path, JSON.stringify([{ name: 'faults-ledger', url, secrets: [this.secret] }]));
  }

  has(eventId: string): boolean {
    return this.ids.has(eventId);
  }

  clear(): void {
    this.ids.clear();
    this.badSignatures = 0;
  }

  /** Waits (bounded) until every acknowledged event arrived; then says what is missing. */
  async judge(
    acknowledged: Iterable<string>,
    { settleTimeoutMs, pollIntervalMs }: { settleTimeoutMs: number; pollIntervalMs: number },
  ): Promise<DestinationCheck> {
    const started = Date.now();
    const ids = [...acknowledged];
    const missing = () => ids.filter((id) => !this.ids.has(id)).length;
    while (missing() > 0 && Date.now() - started < settleTimeoutMs) await sleep(pollIntervalMs);
    const left = missing();
    return {
      ok: left === 0 && this.badSignatures === 0,
      missing: left,
      badSignatures: this.badSignatures,
      waitedMs: Date.now() - started,
    };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private take(headers: Record<string, string>, body: Buffer): boolean {
    try {
      this.verifier.verify(body.toString('utf8'), headers);
    } catch {
      this.badSignatures += 1;
      return false;
    }
    this.ids.add(headers['webhook-id']);
    return true;
  }
}
