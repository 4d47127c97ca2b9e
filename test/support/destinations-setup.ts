import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { Db } from './db';
import type { ReceivedRequest } from './destination-receiver';
import { waitFor } from './poll';

export const ADMIN_KEY = 'admin-key-for-the-destination-tests-0123';

/** A Standard Webhooks secret, and a verifier knowing only it (the reference library). */
export function newSecret(): { secret: string; verifier: Webhook } {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  return { secret, verifier: new Webhook(secret) };
}

/** True when the request's signature verifies with `verifier`'s secret (webhook-id, timestamp, body). */
export function verifies(verifier: Webhook, request: ReceivedRequest): boolean {
  try {
    verifier.verify(request.body, request.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

/** A DESTINATIONS_FILE in a directory of its own; `remove()` deletes it. */
export function destinationsFile(destinations: unknown[]): {
  path: string;
  write(list: unknown[]): void;
  remove(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'destinations-'));
  const path = join(dir, 'destinations.json');
  const write = (list: unknown[]) => writeFileSync(path, JSON.stringify(list));
  write(destinations);
  return { path, write, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Rows a destination is still owed (pending or failed). */
export function owed(db: Db, destination: string, state = 'pending'): Promise<number> {
  return db.count('SELECT count(*) FROM destination_events WHERE destination = $1 AND state = $2', [
    destination,
    state,
  ]);
}

/** Waits until the destination is owed nothing pending. */
export async function drained(db: Db, destination: string, timeoutMs = 30000): Promise<void> {
  await waitFor(async () => (await owed(db, destination)) === 0, {
    timeoutMs,
    what: `${destination} drained`,
  });
}

/** POST /admin/destinations/{name}/{action}. */
export function act(baseUrl: string, name: string, action: string, body: unknown = { reason: 'e2e test' }) {
  return fetch(`${baseUrl}/admin/destinations/${name}/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

export interface DestinationItem {
  name: string;
  state: string;
  circuitOpen: boolean;
  pending: number;
  failed: number;
  lastError: string | null;
}

export async function destinationList(baseUrl: string): Promise<Map<string, DestinationItem>> {
  const res = await fetch(`${baseUrl}/admin/destinations`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
  });
  const { items } = (await res.json()) as { items: DestinationItem[] };
  return new Map(items.map((item) => [item.name, item]));
}
