import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { EventView } from '../admin/admin.views';
import { AdminCursors } from '../admin/http/admin-cursors';
import type { Position } from '../admin/http/cursor';
import { noNul } from '../admin/http/query-params';
import { EventQueries, eventView, type EventFilters, type EventRow } from '../admin/events/event.queries';
import { QuarantineService, type QuarantineFilters } from '../admin/quarantine/quarantine.service';
import type { PayloadMatch, Window } from './payload-search';

export interface TimelineStep {
  event: EventView;
  /** Revisions missing before this event (a gap), if any. */
  missingBefore: string[];
  /** Time from this event to the next (by event timestamp, else received time). */
  toNextMs: number | null;
}

/** What the console's pages read, on top of the operations API's queries. */
@Injectable()
export class ConsoleReads {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: EventQueries,
    private readonly quarantine: QuarantineService,
    private readonly cursors: AdminCursors,
  ) {}

  /**
   * The events list's query: the filters of /admin/events and a payload match, always within a
   * window, so the received_at index bounds what is read (exposed so its plan can be checked).
   */
  searchQuery(
    filters: EventFilters,
    match: PayloadMatch | null,
    window: Window,
    limit: number,
    after: Position | null,
  ) {
    const query = this.events.listQuery(
      { ...filters, since: window.since, until: window.until },
      limit,
      after,
    );
    if (match) {
      query.andWhere('e.payload #>> :payloadPath::text[] = :payloadValue', {
        payloadPath: match.path,
        payloadValue: match.value,
      });
    }
    return query;
  }

  async search(
    filters: EventFilters,
    match: PayloadMatch | null,
    window: Window,
    limit: number,
    cursor?: string,
  ) {
    const query = this.searchQuery(filters, match, window, limit + 1, this.cursors.events.decode(cursor));
    const rows = await query.getRawMany<EventRow>();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(eventView),
      nextCursor:
        rows.length > limit
          ? this.cursors.events.encode({ receivedAtMicros: last.received_us, id: last.event_id })
          : null,
    };
  }

  /** One event, its envelope pretty-printed (exact numbers: PostgreSQL prints the jsonb), its delivery's others. */
  async event(eventId: string) {
    const event = await this.events.one(eventId);
    if (!event) return null;
    const rows: { pretty: string }[] = await this.dataSource.query(
      `SELECT jsonb_pretty(payload) AS pretty FROM webhook_events WHERE event_id = $1`,
      [eventId],
    );
    const { pretty } = rows[0];
    const delivery = await this.events
      .listQuery({ deliveryId: event.deliveryId }, 51, null)
      .getRawMany<EventRow>();
    return { event, pretty, delivery: delivery.map(eventView).filter((other) => other.eventId !== eventId) };
  }

  /** The API spaces an entity is known in (its state, or any event naming it). */
  async spacesOf(entityType: string, entityId: string): Promise<string[]> {
    if (![entityType, entityId].every(noNul)) return [];
    const rows: { space: string }[] = await this.dataSource.query(
      `SELECT api_space_id AS space FROM entity_revisions WHERE entity_type = $1 AND entity_id = $2
       UNION
       SELECT DISTINCT coalesce(api_space_id, '') FROM webhook_events WHERE entity_id = $2 AND entity_type = $1
       LIMIT 20`,
      [entityType, entityId],
    );
    return rows.map((row) => row.space).sort();
  }

  /** The entity's story as a timeline: by revision, gaps named, the time from each event to the next. */
  async timeline(entityType: string, entityId: string, apiSpaceId: string) {
    const story = await this.events.story(entityType, entityId, apiSpaceId);
    if (!story) return null;
    const steps: TimelineStep[] = [];
    let previous: bigint | null = null;
    story.events.forEach((event, index) => {
      const revision = event.revision === null ? null : BigInt(event.revision);
      const missingBefore: string[] = [];
      if (revision !== null && previous !== null && revision > previous + 1n) {
        for (let r = previous + 1n; r < revision && missingBefore.length < 20; r++)
          missingBefore.push(r.toString());
      }
      if (revision !== null && (previous === null || revision > previous)) previous = revision;
      const next = story.events[index + 1];
      steps.push({ event, missingBefore, toNextMs: next ? at(next) - at(event) : null });
    });
    return { state: story.state, steps };
  }

  async quarantineReasons(): Promise<{ reason: string; items: number }[]> {
    return this.dataSource.query(
      `SELECT reason, count(*)::int AS items FROM quarantined_deliveries GROUP BY reason ORDER BY items DESC LIMIT 100`,
    );
  }

  /** The quarantine list, by reason and state when asked. */
  quarantineList(filters: QuarantineFilters, limit: number, cursor?: string) {
    return this.quarantine.list(filters, limit, cursor, this.cursors.quarantine);
  }
}

function at(event: EventView): number {
  return new Date(event.eventTimestamp ?? event.receivedAt).getTime();
}
