import type { DeliveryToStore, EventRow, QuarantineRow } from './event-row';
import { deliveryRecords } from './delivery-record';

const delivery = (deliveryId: string, signedBy?: DeliveryToStore['signedBy']) =>
  ({ deliveryId, receivedAt: new Date('2026-12-01T10:00:00Z'), signedBy }) as DeliveryToStore;
const row = (eventId: string, deliveryId: string) => ({ eventId, deliveryId }) as EventRow;
const kept = (deliveryId: string) => ({ deliveryId }) as QuarantineRow;

describe(deliveryRecords.name, () => {
  it('counts what came of each delivery, its repeated ids and who signed it', () => {
    const records = deliveryRecords(
      [delivery('d-1', { key: 'k1', space: 's1' }), delivery('d-2', { key: 'k2' })],
      [row('e1', 'd-1'), row('e2', 'd-1')],
      [row('e1', 'd-2'), row('e9', 'd-2')],
      [kept('d-1')],
    );
    expect(records).toEqual([
      expect.objectContaining({
        deliveryId: 'd-1',
        events: 2,
        repeats: 0,
        quarantined: 1,
        repeatEventIds: null,
        keyId: 'k1',
        apiSpaceId: 's1',
      }),
      expect.objectContaining({
        deliveryId: 'd-2',
        events: 0,
        repeats: 2,
        quarantined: 0,
        repeatEventIds: ['e1', 'e9'],
        keyId: 'k2',
        apiSpaceId: null,
      }),
    ]);
  });

  it('records a delivery that came twice in one batch once, and one without a signer with nulls', () => {
    const records = deliveryRecords([delivery('d-1'), delivery('d-1')], [row('e1', 'd-1')], [], []);
    expect(records).toEqual([
      expect.objectContaining({ deliveryId: 'd-1', events: 1, keyId: null, apiSpaceId: null }),
    ]);
  });
});
