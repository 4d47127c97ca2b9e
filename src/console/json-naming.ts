import { isUtf8 } from 'node:buffer';
import { entityIdOf, entityTypeOf, type Envelope } from '../envelope/envelope';
import type { PayloadMatch } from './payload-search';

/** Kept or dead-lettered bytes read as JSON envelopes (one, or a batch); null when they are not JSON. */
export function jsonItems(bytes: Buffer): Record<string, unknown>[] | null {
  if (!isUtf8(bytes)) return null;
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  const items = Array.isArray(value) ? (value as unknown[]) : [value];
  return items.filter(
    (item): item is Record<string, unknown> =>
      typeof item === 'object' && item !== null && !Array.isArray(item),
  );
}

export interface EntityRef {
  entityType: string;
  entityId: string;
  /** '' for an entity without an API space. */
  apiSpaceId: string;
}

/** Whether JSON bytes hold an envelope naming this entity, by the one entity rule (envelope.ts). */
export function bytesNameEntity(bytes: Buffer, entity: EntityRef): boolean {
  return (jsonItems(bytes) ?? []).some(
    (item) =>
      typeof item.name === 'string' &&
      entityTypeOf(item.name) === entity.entityType &&
      entityIdOf(item as unknown as Envelope) === entity.entityId &&
      (typeof item.apiSpaceId === 'string' ? item.apiSpaceId : '') === entity.apiSpaceId,
  );
}

/** Whether JSON bytes hold an envelope where `path` reads `value`, compared as text as `#>>` does. */
export function bytesMatch(bytes: Buffer, match: PayloadMatch): boolean {
  return (jsonItems(bytes) ?? []).some((item) => {
    let at: unknown = item;
    for (const segment of match.path) {
      if (typeof at !== 'object' || at === null || !Object.hasOwn(at, segment)) return false;
      at = (at as Record<string, unknown>)[segment];
    }
    if (typeof at === 'string') return at === match.value;
    if (typeof at === 'number' || typeof at === 'boolean') return String(at) === match.value;
    return false;
  });
}
