import { randomUUID } from 'node:crypto';

/**
 * A well-formed envelope shaped like Dotdigital's, with a fresh `eventId` and `payload.messageId`
 * and the current time: what the test page and the Swagger examples offer, so that sending it
 * stores a new event (a repeated `eventId` is stored once).
 */
export function freshEnvelope(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: randomUUID(),
    accountId: 40213,
    apiSpaceId: '5d6a9c1e-2f0b-4c7e-9a61-0b3f7e2d4c10',
    name: 'message.sent',
    payload: { messageId: randomUUID(), details: { channel: 'sms' } },
    revision: 1,
    etag: '"1c-test-page"',
    timestamp: new Date().toISOString(),
    ...overrides,
  };
}
