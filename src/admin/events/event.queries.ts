import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, SelectQueryBuilder } from 'typeorm';
import { UNINDEXED_VALUES, WebhookEvent } from '../../events/entities/webhook-event.entity';
import { EntityRevision } from '../../events/entities/entity-revision.entity';
import { exactInteger, isoOrNull, type EntityStory, type EventPage, type EventView } from '../admin.views';
import type { CursorCodec, Position } from '../http/cursor';
import { noNul } from '../http/query-params';
import { RawJson } from '../http/raw-json';

export interface EventFilters {
  name?: string;
  apiSpaceId?: string;
  entityType?: string;
  entityId?: string;
  outcome?: string;
  deliveryId?: string;
  since?: Date;
  until?: Date;
}

export interface EventRow {
  event_id: string;
  name: string;
  api_space_id: string | null;
  account_id: string | null;
  entity_type: string;
  entity_id: string | null;
  revision: string | null;
  etag: string | null;
  outcome: string;
  event_timestamp: Date | null;
  received_at: Date;
  received_us: string;
  delivery_id: string;
  payload: string;
}

/** Columns of an event as the API shows it; the payload as jsonb text (exact), received_at also in µs (the keyset). */
const COLUMNS = [
  'e.event_id AS event_id',
  'e.name AS name',
  'e.api_space_id AS api_space_id',
  'e.account_id::text AS account_id',
  'e.entity_type AS entity_type',
  'e.entity_id AS entity_id',
  'e.revision::text AS revision',
  'e.etag AS etag',
  'e.outcome AS outcome',
  'e.event_timestamp AS event_timestamp',
  'e.received_at AS received_at',
  `(extract(epoch FROM e.received_at) * 1000000)::bigint::text AS received_us`,
  'e.delivery_id AS delivery_id',
  'e.payload::text AS payload',
];

/** The sort key of lists, newest first; every filter has an index that walks it (see the migrations). */
export const RECEIVED_AT_MICROS = `'epoch'::timestamptz + (:receivedAtMicros::bigint * interval '1 microsecond')`;

/**
 * entity_revisions is keyed (api_space_id, entity_type, entity_id) and has no index leading with the
 * entity, so its spaces are walked one by one through the key (a loose index scan: a few probes per
 * API space, where a plain WHERE would read the whole table); an index for this alone would cost
 * every stored event a write. Retention keeps states whose events it deleted, so both tables count.
 * webhook_events finds the spaces of the story's events through webhook_events_entity_idx.
 */
const SPACES_OF_ENTITY = `
  WITH RECURSIVE spaces(space) AS (
    (SELECT api_space_id FROM entity_revisions ORDER BY api_space_id LIMIT 1)
    UNION ALL
    SELECT (SELECT r.api_space_id FROM entity_revisions r WHERE r.api_space_id > s.space
            ORDER BY r.api_space_id LIMIT 1)
    FROM spaces s WHERE s.space IS NOT NULL
  )
  SELECT s.space FROM spaces s
   WHERE s.space IS NOT NULL
     AND EXISTS (SELECT 1 FROM entity_revisions r
                  WHERE r.api_space_id = s.space AND r.entity_type = $1 AND r.entity_id = $2)
  UNION
  SELECT DISTINCT coalesce(e.api_space_id, '') FROM webhook_events e WHERE e.entity_id = $2
  ORDER BY 1`;

/**
 * The operations API's reads of webhook_events and entity_revisions. Lists are keyset pages on
 * (received_at, event_id), newest first: no OFFSET, so page 1,000 costs what page 1 costs.
 */
@Injectable()
export class EventQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * The list's query (exposed so its plan can be checked against the indexes).
   *
   * A page must walk the index of its filter, (column, received_at, event_id), from the newest. Given
   * `column = x`, PostgreSQL often prefers received_at's own index, filtering as it goes: cheap when
   * x is spread evenly over time, but when every x is old it reads nearly the whole index for one page
   * (measured: 255,000 rows read for 51). `column = x` also drops out of the ORDER BY (a constant), so
   * the leading filter is written `column = ANY(ARRAY[x])` and leads the ORDER BY: only its own index
   * gives that order. The entityId and deliveryId indexes return few rows and are sorted. A value the
   * index of its column leaves out (UNINDEXED_VALUES: `applied`, `message`, most events) never leads:
   * received_at's index finds a page of it, filtering.
   */
  listQuery(filters: EventFilters, limit: number, after: Position | null): SelectQueryBuilder<WebhookEvent> {
    const query = this.events();
    const equal: [keyof EventFilters, string][] = [
      ['name', 'name'],
      ['apiSpaceId', 'api_space_id'],
      ['entityType', 'entity_type'],
      ['entityId', 'entity_id'],
      ['outcome', 'outcome'],
      ['deliveryId', 'delivery_id'],
    ];
    const lead =
      filters.entityId === undefined && filters.deliveryId === undefined
        ? equal.find(
            ([filter, column]) =>
              filters[filter] !== undefined && filters[filter] !== UNINDEXED_VALUES[column],
          )
        : undefined;
    if (lead) query.orderBy(`e.${lead[1]}`, 'DESC').addOrderBy('e.received_at', 'DESC');
    else query.orderBy('e.received_at', 'DESC');
    query.addOrderBy('e.event_id', 'DESC').limit(limit);
    for (const [filter, column] of equal) {
      if (filters[filter] !== undefined) {
        query.andWhere(
          filter === lead?.[0] ? `e.${column} = ANY(ARRAY[:${filter}]::text[])` : `e.${column} = :${filter}`,
          { [filter]: filters[filter] },
        );
      }
    }
    if (filters.since) query.andWhere('e.received_at >= :since', { since: filters.since.toISOString() });
    if (filters.until) query.andWhere('e.received_at < :until', { until: filters.until.toISOString() });
    if (after) {
      query.andWhere(`(e.received_at, e.event_id) < (${RECEIVED_AT_MICROS}, :afterId)`, {
        receivedAtMicros: after.receivedAtMicros,
        afterId: after.id,
      });
    }
    return query;
  }

  async list(
    filters: EventFilters,
    limit: number,
    cursor: string | undefined,
    codec: CursorCodec,
  ): Promise<EventPage> {
    const rows = await this.listQuery(filters, limit + 1, codec.decode(cursor)).getRawMany<EventRow>();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(eventView),
      nextCursor:
        rows.length > limit ? codec.encode({ receivedAtMicros: last.received_us, id: last.event_id }) : null,
    };
  }

  async one(eventId: string): Promise<EventView | null> {
    if (!noNul(eventId)) return null; // no stored id has one (and PostgreSQL would refuse the query)
    const row = await this.events().where('e.event_id = :eventId', { eventId }).getRawOne<EventRow>();
    return row ? eventView(row) : null;
  }

  /**
   * An entity's story: its latest state, and every event that names its id in its API space, by
   * revision then received_at: the message's own events and those about it (interaction.click).
   */
  async story(entityType: string, entityId: string, apiSpaceId: string): Promise<EntityStory | null> {
    if (![entityType, entityId, apiSpaceId].every(noNul)) return null;
    const state = await this.dataSource
      .getRepository(EntityRevision)
      .findOneBy({ apiSpaceId, entityType, entityId });
    const rows = await this.storyQuery(entityId, apiSpaceId).getRawMany<EventRow>();
    if (!state && rows.length === 0) return null;
    return {
      state: state && {
        revision: exactInteger(state.revision)!,
        eventId: state.eventId,
        eventName: state.eventName,
        eventTimestamp: isoOrNull(state.eventTimestamp),
        updatedAt: state.updatedAt.toISOString(),
      },
      events: rows.map(eventView),
    };
  }

  /**
   * The API spaces ('' for none) in which an entity has a state or an event of its story, sorted:
   * what a story asked for without apiSpaceId is told from.
   */
  async spacesOf(entityType: string, entityId: string): Promise<string[]> {
    if (![entityType, entityId].every(noNul)) return [];
    const rows = await this.dataSource.query<{ space: string }[]>(...this.spacesQuery(entityType, entityId));
    return rows.map((row) => row.space);
  }

  /** The query of spacesOf and its parameters (exposed so its plan can be checked against the indexes). */
  spacesQuery(entityType: string, entityId: string): [string, string[]] {
    return [SPACES_OF_ENTITY, [entityType, entityId]];
  }

  /** The events of a story (exposed so its plan can be checked against the indexes). */
  storyQuery(entityId: string, apiSpaceId: string): SelectQueryBuilder<WebhookEvent> {
    // coalesce, not `= '' OR IS NULL`: PostgreSQL would read every event of the empty space for the OR.
    const space = apiSpaceId === '' ? `coalesce(e.api_space_id, '') = ''` : 'e.api_space_id = :apiSpaceId';
    return this.events()
      .where('e.entity_id = :entityId', { entityId })
      .andWhere(space, { apiSpaceId })
      .orderBy('e.revision', 'ASC', 'NULLS LAST')
      .addOrderBy('e.received_at', 'ASC')
      .addOrderBy('e.event_id', 'ASC');
  }

  private events(): SelectQueryBuilder<WebhookEvent> {
    return this.dataSource.getRepository(WebhookEvent).createQueryBuilder('e').select(COLUMNS);
  }
}

export function eventView(row: EventRow): EventView {
  return {
    eventId: row.event_id,
    name: row.name,
    apiSpaceId: row.api_space_id,
    accountId: exactInteger(row.account_id),
    entityType: row.entity_type,
    entityId: row.entity_id,
    revision: exactInteger(row.revision),
    etag: row.etag,
    outcome: row.outcome,
    eventTimestamp: isoOrNull(row.event_timestamp),
    receivedAt: row.received_at.toISOString(),
    deliveryId: row.delivery_id,
    payload: new RawJson(row.payload),
  };
}
