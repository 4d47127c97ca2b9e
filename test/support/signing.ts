import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TEST_SECRET } from './env';

export const FIXTURES = join(__dirname, '..', 'fixtures');

/** The single-envelope fixtures, in the order a message moves forward (sent → delivered → read). */
export const SINGLE_FIXTURES = [
  'message.sent.json',
  'message.delivered.json',
  'message.read.json',
  'message.failed.json',
  'message.expired.json',
  'message.inbound.json',
  'interaction.click.json',
  'profile.update.json',
  'undocumented-messageId.delivered.json',
] as const;

/** The exact bytes of a fixture file, trailing newline included (as signed in signatures.json). */
export function fixture(name: string): Buffer {
  return readFileSync(join(FIXTURES, name));
}

export function sign(body: Buffer | string, secret = TEST_SECRET): string {
  return createHmac('sha1', secret).update(body).digest('hex');
}

export interface PostOptions {
  /** The X-Comapi-Signature to send; `null` sends none. Default: a valid signature with TEST_SECRET. */
  signature?: string | null;
  contentType?: string;
}

/** POSTs raw bytes to /webhook, signed unless told otherwise. */
export async function postWebhook(
  baseUrl: string,
  body: Buffer | string,
  options: PostOptions = {},
): Promise<Response> {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const headers: Record<string, string> = { 'Content-Type': options.contentType ?? 'application/json' };
  const signature = options.signature === undefined ? sign(bytes) : options.signature;
  if (signature !== null) headers['X-Comapi-Signature'] = signature;
  return fetch(`${baseUrl}/webhook`, { method: 'POST', headers, body: bytes });
}

/** A well-formed envelope with unique ids unless overridden. */
export function envelope(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return {
    eventId: `evt-${id}`,
    accountId: 40213,
    apiSpaceId: 'space-e2e',
    name: 'message.sent',
    payload: { id: `msg-${id}` },
    revision: 1,
    etag: '"1c-test"',
    timestamp: new Date().toISOString(),
    ...overrides,
  };
}
