import { randomUUID } from 'node:crypto';

/**
 * An envelope shaped as Dotdigital documents it (`message.sent`: the message id in `payload.id`,
 * an `etag` with its quote characters), with a fresh `eventId` and message id and the current time:
 * what the test page and the Swagger examples offer, so that sending it stores a new event (a
 * repeated `eventId` is stored once).
 */
export function freshEnvelope(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventId: randomUUID(),
    accountId: 40213,
    apiSpaceId: '5d6a9c1e-2f0b-4c7e-9a61-0b3f7e2d4c10',
    name: 'message.sent',
    payload: { details: { channel: 'sms' }, id: randomUUID() },
    revision: 1,
    etag: '"2e-PLB2C6w/yVdPjUhuRiZtlvt8k0Q"',
    timestamp: new Date().toISOString(),
    ...overrides,
  };
}
