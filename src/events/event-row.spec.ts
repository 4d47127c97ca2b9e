import { parseDelivery } from '../envelope/delivery.parser';
import { rowsOf } from './event-row';

describe('rowsOf, for a delivery the api marked for quarantine', () => {
  const body = Buffer.from(
    '[{"eventId":"e-1","name":"message.sent","apiSpaceId":"space-b"},{"eventId":"e-2","name":"message.read","apiSpaceId":"space-a"},42]',
  );
  const delivery = {
    deliveryId: 'd-1',
    receivedAt: new Date('2026-11-20T09:26:14.801Z'),
    body,
    parsed: parseDelivery(body),
  };

  it('keeps the whole delivery, exact bytes and reason, and stores no event of it', () => {
    const rows = rowsOf({ ...delivery, quarantineReason: 'apiSpaceId does not match the secret' });
    expect(rows.events).toEqual([]);
    expect(rows.quarantine).toEqual([
      {
        deliveryId: 'd-1',
        receivedAt: delivery.receivedAt,
        reason: 'apiSpaceId does not match the secret',
        itemIndex: null,
        body,
      },
    ]);
    expect(rows.quarantine[0].body.equals(body)).toBe(true);
  });

  it('without the mark, stores the envelopes and keeps the malformed item as before', () => {
    const rows = rowsOf(delivery);
    expect(rows.events.map((row) => row.eventId)).toEqual(['e-1', 'e-2']);
    expect(rows.quarantine).toHaveLength(1);
    expect(rows.quarantine[0].itemIndex).toBe(2);
  });
});
