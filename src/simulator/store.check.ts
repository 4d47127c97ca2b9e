import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { entityIdOf, entityTypeOf, type EntityKey, type SimEnvelope } from './envelope.types';
import type { ExpectedEntity } from './ledger';

export interface EntityObservation {
  /** The stored state's revision as text (bigint), or null when the entity has no state. */
  revision: string | null;
  /** The ids of the events the store lists for the entity, when it can list them. */
  eventIds?: string[];
}

/** One stored row of an event: its payload and the entity the service gave it. */
export interface StoredEvent {
  payload: unknown;
  entityType: string;
  entityId: string | null;
}

/** Where stored events are read from: the database itself, or the operations API. */
export interface StoreReader {
  /** Per id, every stored row (none: not stored; two: stored twice). */
  readEvents(eventIds: string[]): Promise<Map<string, StoredEvent[]>>;
  /** Per entity (by entityKeyText), what the store holds. */
  readEntities(entities: Map<string, ExpectedEntity>): Promise<Map<string, EntityObservation>>;
  close(): Promise<void>;
}

/** A reader's failure that waiting will not cure (a refused key, a missing table). */
export class FatalCheckError extends Error {}

export interface EntityMismatch {
  key: EntityKey;
  expected: number;
  actual: string | null;
}

export interface StoreCheckResult {
  events: number;
  entities: number;
  storedOnce: number;
  entitiesMatching: number;
  missing: string[];
  duplicated: string[];
  payloadMismatch: string[];
  /** Events stored with an entity other than the one the contract's rule names. */
  wrongEntity: string[];
  entityMismatch: EntityMismatch[];
  /** The last error a reader raised, if the check ended without an answer for everything. */
  error?: string;
  waitedMs: number;
}

type PendingEntity = ExpectedEntity & { actual: string | null };

export interface StoreCheckTiming {
  settleTimeoutMs: number;
  pollIntervalMs: number;
}

/**
 * Compares what the store holds with the ledger, polling because storage is asynchronous: it stops
 * once every acknowledged event has an answer and every entity is at its acknowledged revision, or
 * when the settle timeout passes. A stored event never changes (the first stays), so an event is
 * read until it appears and then judged once; an entity is read again until it matches or is ahead.
 */
export async function checkStore(
  reader: StoreReader,
  expected: { events: Map<string, SimEnvelope>; entities: Map<string, ExpectedEntity> },
  timing: StoreCheckTiming,
): Promise<StoreCheckResult> {
  const started = Date.now();
  const pendingEvents = new Set(expected.events.keys());
  // Copies: the last revision seen is noted on them, never on the ledger's own records.
  const pendingEntities = new Map<string, PendingEntity>(
    [...expected.entities].map(([text, entity]) => [text, { ...entity, actual: null }]),
  );
  const result: StoreCheckResult = {
    events: expected.events.size,
    entities: expected.entities.size,
    storedOnce: 0,
    entitiesMatching: 0,
    missing: [],
    duplicated: [],
    payloadMismatch: [],
    wrongEntity: [],
    entityMismatch: [],
    waitedMs: 0,
  };
  const duplicated = new Set<string>();
  for (;;) {
    try {
      await judgeEvents(reader, expected.events, pendingEvents, result, duplicated);
      await judgeEntities(reader, expected.events, pendingEntities, result, duplicated);
      result.error = undefined;
    } catch (err) {
      result.error = err instanceof Error ? err.message : String(err);
      if (err instanceof FatalCheckError) break;
    }
    if (
      (pendingEvents.size === 0 && pendingEntities.size === 0) ||
      Date.now() - started >= timing.settleTimeoutMs
    )
      break;
    await sleep(timing.pollIntervalMs);
  }
  result.missing = [...pendingEvents];
  for (const entity of pendingEntities.values())
    result.entityMismatch.push({ key: entity.key, expected: entity.revision, actual: entity.actual });
  result.duplicated = [...duplicated];
  result.storedOnce = result.events - result.missing.length - result.duplicated.length;
  result.waitedMs = Date.now() - started;
  return result;
}

async function judgeEvents(
  reader: StoreReader,
  sent: Map<string, SimEnvelope>,
  pending: Set<string>,
  result: StoreCheckResult,
  duplicated: Set<string>,
): Promise<void> {
  if (pending.size === 0) return;
  const stored = await reader.readEvents([...pending]);
  for (const eventId of [...pending]) {
    const rows = stored.get(eventId) ?? [];
    if (rows.length === 0) continue;
    pending.delete(eventId);
    if (rows.length > 1) duplicated.add(eventId);
    const envelope = sent.get(eventId)!;
    // Compared as JSON values: jsonb reorders keys, and the sent bytes were JSON.stringify's.
    const sentValue: unknown = JSON.parse(JSON.stringify(envelope));
    if (!rows.every((row) => isDeepStrictEqual(row.payload, sentValue))) result.payloadMismatch.push(eventId);
    const [entityType, entityId] = [entityTypeOf(envelope.name), entityIdOf(envelope)];
    if (!rows.every((row) => row.entityType === entityType && row.entityId === entityId))
      result.wrongEntity.push(eventId);
  }
}

async function judgeEntities(
  reader: StoreReader,
  acknowledged: Map<string, SimEnvelope>,
  pending: Map<string, PendingEntity>,
  result: StoreCheckResult,
  duplicated: Set<string>,
): Promise<void> {
  if (pending.size === 0) return;
  const observed = await reader.readEntities(pending);
  for (const [text, entity] of [...pending]) {
    const seen = observed.get(text);
    entity.actual = seen?.revision ?? null;
    if (seen?.revision === String(entity.revision)) {
      pending.delete(text);
      result.entitiesMatching += 1;
      for (const eventId of repeatedIds(seen.eventIds ?? []))
        if (acknowledged.has(eventId)) duplicated.add(eventId);
    } else if (isAhead(seen?.revision ?? null, entity.revision)) {
      // Ahead of every acknowledged revision: it will not come back down, so waiting is pointless.
      pending.delete(text);
      result.entityMismatch.push({ key: entity.key, expected: entity.revision, actual: entity.actual });
    }
  }
}

function repeatedIds(ids: string[]): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const id of ids) {
    if (seen.has(id)) repeated.push(id);
    seen.add(id);
  }
  return repeated;
}

/** Whether a stored revision (bigint as text) is above the expected one; unreadable text is not. */
export function isAhead(actual: string | null, expected: number): boolean {
  if (actual === null || !/^-?\d+$/.test(actual)) return false;
  return BigInt(actual) > BigInt(expected);
}
