import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { EventView, QuarantineItem } from '../admin/admin.views';
import { AdminCursors } from '../admin/http/admin-cursors';
import { EventQueries, eventView, type EventRow } from '../admin/events/event.queries';
import { noNul } from '../admin/http/query-params';
import { QuarantineService } from '../admin/quarantine/quarantine.service';

/** Rows of one kind shown on a delivery's page; a batch holds up to a few thousand. */
const SHOWN = 200;

export interface DeliveryRecordView {
  receivedAt: string;
  storedAt: string;
  events: number;
  repeats: number;
  quarantined: number;
  keyId: string | null;
  apiSpaceId: string | null;
}

/** A repeated eventId, with the stored event it repeated (null when retention removed it). */
export interface RepeatView {
  eventId: string;
  stored: EventView | null;
}

interface RecordRow {
  received_at: Date;
  stored_at: Date;
  events: number;
  repeats: number;
  quarantined: number;
  repeat_event_ids: string[] | null;
  key_id: string | null;
  api_space_id: string | null;
}

/** One delivery and everything that came of it: its record, its events, its repeats, its quarantined items. */
@Injectable()
export class DeliveryReads {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: EventQueries,
    private readonly quarantine: QuarantineService,
    private readonly cursors: AdminCursors,
  ) {}

  /** Null when nothing at all is known of it (no record, no event, no quarantine row). */
  async delivery(deliveryId: string) {
    if (!noNul(deliveryId)) return null;
    const [records, events, quarantined, replayOf] = await Promise.all([
      this.dataSource.query<RecordRow[]>(
        `SELECT received_at, stored_at, events, repeats, quarantined, repeat_event_ids, key_id, api_space_id
           FROM webhook_deliveries WHERE delivery_id = $1`,
        [deliveryId],
      ),
      this.events.listQuery({ deliveryId }, SHOWN, null).getRawMany<EventRow>(),
      this.quarantineOf(deliveryId),
      this.dataSource.query<{ id: string }[]>(
        `SELECT id::text AS id FROM quarantined_deliveries WHERE replay_delivery_id = $1`,
        [deliveryId],
      ),
    ]);
    const record = records[0];
    if (!record && events.length === 0 && quarantined.length === 0) return null;
    return {
      record: record ? recordView(record) : null,
      events: events.map(eventView),
      quarantined,
      repeats: await this.repeatsOf(record?.repeat_event_ids?.slice(0, SHOWN) ?? []),
      replayOf: replayOf[0]?.id ?? null,
      shown: SHOWN,
    };
  }

  private async quarantineOf(deliveryId: string): Promise<QuarantineItem[]> {
    return (await this.quarantine.list({ deliveryId }, SHOWN, undefined, this.cursors.quarantine)).items;
  }

  private async repeatsOf(eventIds: string[]): Promise<RepeatView[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.events
      .listQuery({}, eventIds.length, null)
      .andWhere('e.event_id = ANY(:eventIds)', { eventIds })
      .getRawMany<EventRow>();
    const stored = new Map(rows.map((row) => [row.event_id, eventView(row)]));
    return eventIds.map((eventId) => ({ eventId, stored: stored.get(eventId) ?? null }));
  }
}

function recordView(row: RecordRow): DeliveryRecordView {
  return {
    receivedAt: row.received_at.toISOString(),
    storedAt: row.stored_at.toISOString(),
    events: row.events,
    repeats: row.repeats,
    quarantined: row.quarantined,
    keyId: row.key_id,
    apiSpaceId: row.api_space_id,
  };
}
