import type { ConsumeMessage } from 'amqplib';
import { DeliveryHeaders, deliveryOf, deliveryProperties, type DeliveryMessage } from './delivery-message';

/** What a consumer gets back for a message published with `properties`. */
const consumed = (content: Buffer, headers: Record<string, unknown> | undefined): ConsumeMessage =>
  ({ content, fields: {}, properties: { headers } }) as unknown as ConsumeMessage;

describe('the delivery message contract', () => {
  const message: DeliveryMessage = {
    deliveryId: 'd-1',
    receivedAt: new Date('2026-11-20T09:26:14.801Z'),
    itemCount: 3,
    body: Buffer.from('[{"apiSpaceId":"space-b"}]'),
  };

  it('carries a quarantine reason in x-quarantine-reason, and reads it back', () => {
    const properties = deliveryProperties({
      ...message,
      quarantineReason: 'apiSpaceId does not match the secret',
    });
    expect(properties.headers?.[DeliveryHeaders.quarantineReason]).toBe(
      'apiSpaceId does not match the secret',
    );
    expect(deliveryOf(consumed(message.body, properties.headers))).toEqual({
      ...message,
      quarantineReason: 'apiSpaceId does not match the secret',
    });
  });

  it('has no such header, and no such field, for an ordinary delivery', () => {
    const properties = deliveryProperties(message);
    expect(properties.headers).not.toHaveProperty(DeliveryHeaders.quarantineReason);
    expect(deliveryOf(consumed(message.body, properties.headers))).not.toHaveProperty('quarantineReason');
  });

  it('reads a reason given as bytes, and ignores an empty or non-text one', () => {
    const headers = deliveryProperties(message).headers!;
    const reasonOf = (value: unknown) =>
      deliveryOf(consumed(message.body, { ...headers, [DeliveryHeaders.quarantineReason]: value }))
        .quarantineReason;
    expect(reasonOf(Buffer.from('why'))).toBe('why');
    expect(reasonOf('')).toBeUndefined();
    expect(reasonOf(42)).toBeUndefined();
  });

  it('carries who signed it in x-signing-key and x-signing-space, and reads them back', () => {
    const signed = { ...message, signedBy: { key: 'k-3f2a', space: 'space-b' } };
    const properties = deliveryProperties(signed);
    expect(properties.headers).toMatchObject({
      [DeliveryHeaders.signingKey]: 'k-3f2a',
      [DeliveryHeaders.signingSpace]: 'space-b',
    });
    expect(deliveryOf(consumed(message.body, properties.headers))).toEqual(signed);
    const anySpace = { ...message, signedBy: { key: 'k-3f2a' } };
    const anyHeaders = deliveryProperties(anySpace).headers;
    expect(anyHeaders).not.toHaveProperty(DeliveryHeaders.signingSpace);
    expect(deliveryOf(consumed(message.body, anyHeaders))).toEqual(anySpace);
    expect(deliveryOf(consumed(message.body, deliveryProperties(message).headers))).not.toHaveProperty(
      'signedBy',
    );
  });
});
