import type { DeliveryToStore, EventRow, QuarantineRow } from './event-row';

/** A webhook_deliveries row to be: one accepted delivery and what came of it. */
export interface DeliveryRecord {
  deliveryId: string;
  receivedAt: Date;
  events: number;
  repeats: number;
  quarantined: number;
  /** The repeated eventIds (null when none), so an entity's page can find its repeats. */
  repeatEventIds: string[] | null;
  keyId: string | null;
  apiSpaceId: string | null;
}

/** A repeated event: its eventId was stored before, or came earlier in the same batch. */
export interface Repeat {
  eventId: string;
  deliveryId: string;
}

/**
 * One record per distinct delivery of a stored batch. A delivery that came twice in one batch (a
 * redelivery) is recorded once, by its first copy; the second copy's events are repeats of the
 * first's and are not counted against it.
 */
export function deliveryRecords(
  deliveries: readonly DeliveryToStore[],
  stored: readonly EventRow[],
  repeats: readonly Repeat[],
  quarantined: readonly QuarantineRow[],
): DeliveryRecord[] {
  const records = new Map<string, DeliveryRecord>();
  for (const delivery of deliveries) {
    if (records.has(delivery.deliveryId)) continue;
    records.set(delivery.deliveryId, {
      deliveryId: delivery.deliveryId,
      receivedAt: delivery.receivedAt,
      events: 0,
      repeats: 0,
      quarantined: 0,
      repeatEventIds: null,
      keyId: delivery.signedBy?.key ?? null,
      apiSpaceId: delivery.signedBy?.space ?? null,
    });
  }
  for (const row of stored) records.get(row.deliveryId)!.events++;
  for (const row of quarantined) records.get(row.deliveryId)!.quarantined++;
  for (const { eventId, deliveryId } of repeats) {
    const record = records.get(deliveryId)!;
    record.repeats++;
    (record.repeatEventIds ??= []).push(eventId);
  }
  return [...records.values()];
}
