import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { IsNull, type DataSource, type EntityManager } from 'typeorm';
import { summarizeDelivery } from '../../envelope/delivery.parser';
import { QuarantinedDelivery } from '../../events/entities/quarantined-delivery.entity';
import { deliveryProperties } from '../../messaging/delivery-message';
import { OutboundPublisher } from '../../messaging/outbound.publisher';
import { traceDeliveryPublish } from '../../tracing/tracing.spans';
import { isoOrNull, type QuarantineDetail, type QuarantineItem, type QuarantinePage } from '../admin.views';
import type { CursorCodec, Position } from '../http/cursor';
import { RECEIVED_AT_MICROS } from '../events/event.queries';

export const QUARANTINE_STATES = ['open', 'replayed', 'resolved'] as const;
export type QuarantineState = (typeof QUARANTINE_STATES)[number];

export interface QuarantineFilters {
  since?: Date;
  until?: Date;
  deliveryId?: string;
  /** Exactly this reason. */
  reason?: string;
  /** open: neither replayed nor resolved. */
  state?: QuarantineState;
}

const STATE_CONDITION: Record<QuarantineState, string> = {
  open: 'q.replayed_at IS NULL AND q.resolved_at IS NULL',
  replayed: 'q.replayed_at IS NOT NULL',
  resolved: 'q.resolved_at IS NOT NULL',
};

export interface ReplayClaim {
  /** The quarantine row replayed. */
  id: string;
  deliveryId: string;
  body: Buffer;
}

interface QuarantineRow {
  id: string;
  received_at: Date;
  received_us: string;
  reason: string;
  item_index: number | null;
  delivery_id: string;
  bytes: number;
  replayed_at: Date | null;
  replay_delivery_id: string | null;
  resolved_at: Date | null;
  resolved_reason: string | null;
}

/** quarantined_deliveries for people: find, read, and give a kept delivery (or item) another go. */
@Injectable()
export class QuarantineService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly publisher: OutboundPublisher,
  ) {}

  async list(
    filters: QuarantineFilters,
    limit: number,
    cursor: string | undefined,
    codec: CursorCodec,
  ): Promise<QuarantinePage> {
    const rows = await this.listQuery(filters, limit + 1, codec.decode(cursor)).getRawMany<QuarantineRow>();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(itemView),
      nextCursor:
        rows.length > limit ? codec.encode({ receivedAtMicros: last.received_us, id: last.id }) : null,
    };
  }

  /** The list's query (exposed so its plan can be checked against the indexes). */
  listQuery(filters: QuarantineFilters, limit: number, after: Position | null) {
    const query = this.rows().orderBy('q.received_at', 'DESC').addOrderBy('q.id', 'DESC').limit(limit);
    if (filters.deliveryId !== undefined)
      query.andWhere('q.delivery_id = :deliveryId', { deliveryId: filters.deliveryId });
    if (filters.reason !== undefined) query.andWhere('q.reason = :reason', { reason: filters.reason });
    if (filters.state !== undefined) query.andWhere(STATE_CONDITION[filters.state]);
    if (filters.since) query.andWhere('q.received_at >= :since', { since: filters.since.toISOString() });
    if (filters.until) query.andWhere('q.received_at < :until', { until: filters.until.toISOString() });
    if (after) {
      query.andWhere(`(q.received_at, q.id) < (${RECEIVED_AT_MICROS}, :afterId::bigint)`, {
        receivedAtMicros: after.receivedAtMicros,
        afterId: after.id,
      });
    }
    return query;
  }

  async one(id: string): Promise<QuarantineDetail> {
    const row = await this.find(id);
    return {
      ...itemView(row),
      body: row.body.toString('base64'),
      text: isUtf8(row.body) ? row.body.toString('utf8') : null,
    };
  }

  /**
   * Marks a kept delivery (or item) as replayed as a new delivery, in `manager`'s transaction: 404
   * when there is no such row, 409 when it was replayed already. The row lock taken here makes a
   * second replay of the same row wait, then refuse; publishReplay sends it once the caller is ready.
   */
  async claimReplay(manager: EntityManager, id: string): Promise<ReplayClaim> {
    const row = await this.find(id);
    const deliveryId = randomUUID();
    const claimed = await manager
      .getRepository(QuarantinedDelivery)
      .update(
        { id, replayedAt: IsNull(), resolvedAt: IsNull() },
        { replayedAt: () => 'now()', replayDeliveryId: deliveryId },
      );
    if (claimed.affected === 0) throw await this.settled(id);
    return { id, deliveryId, body: row.body };
  }

  /**
   * Marks a kept item resolved (it needs no replay) in `manager`'s transaction: 404 when there is no
   * such row, 409 when it was replayed or resolved already. Like claimReplay, the row lock makes a
   * concurrent second action wait, then refuse.
   */
  async resolve(
    manager: EntityManager,
    id: string,
    reason: string,
  ): Promise<{ id: number; resolvedAt: string }> {
    await this.find(id);
    // TypeORM answers an UPDATE as [rows RETURNING gave, affected count].
    const [rows]: [{ resolved_at: Date }[], number] = await manager.query(
      `UPDATE quarantined_deliveries SET resolved_at = now(), resolved_reason = $2
        WHERE id = $1 AND replayed_at IS NULL AND resolved_at IS NULL
        RETURNING resolved_at`,
      [id, reason],
    );
    if (rows.length === 0) throw await this.settled(id);
    return { id: Number(id), resolvedAt: rows[0].resolved_at.toISOString() };
  }

  /** The 409 for a row already replayed or resolved, naming when and how. */
  private async settled(id: string): Promise<ConflictException> {
    const now = await this.find(id);
    return new ConflictException(
      now.replayed_at
        ? `quarantined item ${id} was already replayed at ${isoOrNull(now.replayed_at)} as delivery ${now.replay_delivery_id}`
        : `quarantined item ${id} was already resolved at ${isoOrNull(now.resolved_at)}: ${now.resolved_reason}`,
    );
  }

  /** Publishes claimed bytes (the whole delivery, or the item alone) through the normal path. */
  async publishReplay({ id, deliveryId, body }: ReplayClaim): Promise<void> {
    const { itemCount } = summarizeDelivery(body);
    const { exchange, routingKey } = this.publisher.topology;
    const properties = deliveryProperties({ deliveryId, receivedAt: new Date(), itemCount, body });
    await traceDeliveryPublish(
      { exchange, routingKey },
      { deliveryId, itemCount, replayOf: id },
      properties,
      () => this.publisher.publish(exchange, routingKey, body, properties),
    );
  }

  private async find(id: string): Promise<QuarantineRow & { body: Buffer }> {
    const row = await this.rows()
      .addSelect('q.body', 'body')
      .where('q.id = :id', { id })
      .getRawOne<QuarantineRow & { body: Buffer }>();
    if (!row) throw new NotFoundException(`no quarantined delivery ${id}`);
    return row;
  }

  private rows() {
    return this.dataSource
      .getRepository(QuarantinedDelivery)
      .createQueryBuilder('q')
      .select([
        'q.id::text AS id',
        'q.received_at AS received_at',
        `(extract(epoch FROM q.received_at) * 1000000)::bigint::text AS received_us`,
        'q.reason AS reason',
        'q.item_index AS item_index',
        'q.delivery_id AS delivery_id',
        'octet_length(q.body) AS bytes',
        'q.replayed_at AS replayed_at',
        'q.replay_delivery_id AS replay_delivery_id',
        'q.resolved_at AS resolved_at',
        'q.resolved_reason AS resolved_reason',
      ]);
  }
}

function itemView(row: QuarantineRow): QuarantineItem {
  return {
    id: Number(row.id),
    receivedAt: row.received_at.toISOString(),
    reason: row.reason,
    itemIndex: row.item_index,
    deliveryId: row.delivery_id,
    bytes: Number(row.bytes),
    replayedAt: isoOrNull(row.replayed_at),
    replayDeliveryId: row.replay_delivery_id,
    resolvedAt: isoOrNull(row.resolved_at),
    resolvedReason: row.resolved_reason,
  };
}
