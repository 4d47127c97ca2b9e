import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { isoOrNull } from '../admin/admin.views';
import { DeadLetterQueue, type DeadLetter } from '../messaging/dead-letter.queue';
import { bytesMatch, bytesNameEntity, type EntityRef } from './json-naming';
import type { PayloadMatch, Window } from './payload-search';

/** Quarantine rows read to look inside their bytes; the quarantine holds what went wrong, normally few. */
const QUARANTINE_SCAN = 500;
/** Dead letters looked into for an entity (read without removing them). */
const DEAD_LETTER_SCAN = 50;

export interface KeptItem {
  id: number;
  receivedAt: string;
  reason: string;
  itemIndex: number | null;
  deliveryId: string;
  replayedAt: string | null;
  replayDeliveryId: string | null;
  resolvedAt: string | null;
  resolvedReason: string | null;
}

export interface EntityRepeat {
  eventId: string;
  deliveryId: string;
  receivedAt: string;
}

interface KeptRow {
  id: string;
  received_at: Date;
  reason: string;
  item_index: number | null;
  delivery_id: string;
  replayed_at: Date | null;
  replay_delivery_id: string | null;
  resolved_at: Date | null;
  resolved_reason: string | null;
  body: Buffer;
}

/**
 * What became of an entity besides its stored events: quarantined items and dead-lettered
 * deliveries whose bytes name it (when they are JSON), and the repeats of its events (from the
 * delivery record). Also the payload search over quarantined JSON bytes.
 */
@Injectable()
export class EntityTrail {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly deadLetters: DeadLetterQueue,
  ) {}

  async of(entity: EntityRef, eventIds: string[]) {
    const [quarantined, deadLettered, repeats] = await Promise.all([
      this.quarantined(entity),
      this.deadLettered(entity),
      this.repeats(eventIds),
    ]);
    return { quarantined, deadLettered, repeats };
  }

  /** Kept items whose bytes contain the id (a cheap first look), then read as JSON naming the entity. */
  private async quarantined(entity: EntityRef): Promise<KeptItem[]> {
    const rows = await this.dataSource.query<KeptRow[]>(
      `${KEPT_COLUMNS} WHERE position(convert_to($1, 'UTF8') IN body) > 0
        ORDER BY received_at DESC, id DESC LIMIT ${QUARANTINE_SCAN}`,
      [entity.entityId],
    );
    return rows.filter((row) => bytesNameEntity(row.body, entity)).map(keptView);
  }

  /** Dead letters naming it, with their failure reason; `null` when the broker cannot be read now. */
  private async deadLettered(entity: EntityRef): Promise<DeadLetter[] | null> {
    const naming: DeadLetter[] = [];
    try {
      await this.deadLetters.peek(DEAD_LETTER_SCAN, (letter, body) => {
        if (bytesNameEntity(body, entity)) naming.push(letter);
      });
    } catch {
      return null;
    }
    return naming;
  }

  /** Later deliveries that repeated one of its events (the partial GIN index on repeat_event_ids). */
  private async repeats(eventIds: string[]): Promise<EntityRepeat[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.dataSource.query<{ event_id: string; delivery_id: string; received_at: Date }[]>(
      `SELECT r.event_id, d.delivery_id, d.received_at
         FROM webhook_deliveries d, unnest(d.repeat_event_ids) AS r(event_id)
        WHERE d.repeat_event_ids IS NOT NULL AND d.repeat_event_ids && $1::text[] AND r.event_id = ANY($1::text[])
        ORDER BY d.received_at, d.delivery_id LIMIT 200`,
      [eventIds],
    );
    return rows.map((row) => ({
      eventId: row.event_id,
      deliveryId: row.delivery_id,
      receivedAt: row.received_at.toISOString(),
    }));
  }

  /** Quarantined items received in the window whose bytes are JSON and match the search. */
  async searchQuarantine(match: PayloadMatch, window: Window): Promise<KeptItem[]> {
    const rows = await this.dataSource.query<KeptRow[]>(
      `${KEPT_COLUMNS} WHERE received_at >= $1 AND received_at < $2 AND position(convert_to($3, 'UTF8') IN body) > 0
        ORDER BY received_at DESC, id DESC LIMIT ${QUARANTINE_SCAN}`,
      [window.since.toISOString(), window.until.toISOString(), match.value],
    );
    return rows.filter((row) => bytesMatch(row.body, match)).map(keptView);
  }
}

const KEPT_COLUMNS = `SELECT id::text AS id, received_at, reason, item_index, delivery_id, replayed_at,
                             replay_delivery_id, resolved_at, resolved_reason, body
                        FROM quarantined_deliveries`;

function keptView(row: KeptRow): KeptItem {
  return {
    id: Number(row.id),
    receivedAt: row.received_at.toISOString(),
    reason: row.reason,
    itemIndex: row.item_index,
    deliveryId: row.delivery_id,
    replayedAt: isoOrNull(row.replayed_at),
    replayDeliveryId: row.replay_delivery_id,
    resolvedAt: isoOrNull(row.resolved_at),
    resolvedReason: row.resolved_reason,
  };
}
