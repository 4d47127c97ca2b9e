/**
 * The envelopes the simulator sends, shaped like Dotdigital's (as Dotdigital documents it). This folder keeps its own
 * copy of the shape and of the entity rule below instead of importing src/envelope: it must build
 * and run on its own, and it checks the service against the contract, not against its code.
 */
export interface SimEnvelope {
  eventId: string;
  accountId: number;
  apiSpaceId: string;
  name: string;
  /** Absent on presence.* events, which name their profile at the top level instead. */
  payload?: Record<string, unknown>;
  profileId?: string;
  /** Absent on untracked families (interaction.click, conversation.*, presence.*, facebook.*). */
  revision?: number;
  /** A quoted string (`"2e-…"`) where Dotdigital sends one; several families have none. */
  etag?: string;
  timestamp: string;
}

export interface EntityKey {
  apiSpaceId: string;
  entityType: string;
  entityId: string;
}

/** The part of the name before the first dot: `message.read` → `message`. */
export function entityTypeOf(name: string): string {
  const dot = name.indexOf('.');
  return dot === -1 ? name : name.slice(0, dot);
}

/**
 * The contract's rule: `payload.messageId` (undocumented, accepted first), else `payload.id`, else
 * `payload.profileId`, else the top-level `profileId` (presence.*), else none.
 */
export function entityIdOf(envelope: Pick<SimEnvelope, 'payload' | 'profileId'>): string | null {
  const payload: Record<string, unknown> = envelope.payload ?? {};
  for (const value of [payload.messageId, payload.id, payload.profileId, envelope.profileId]) {
    if (typeof value === 'string' && value.length > 0) return value;
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return null;
}

/** The entity and revision an event orders, or null when it is untracked (no id or no integer revision). */
export function trackedEntityOf(envelope: SimEnvelope): { key: EntityKey; revision: number } | null {
  const entityId = entityIdOf(envelope);
  const { revision } = envelope;
  if (entityId === null || typeof revision !== 'number' || !Number.isSafeInteger(revision)) return null;
  return {
    key: { apiSpaceId: envelope.apiSpaceId ?? '', entityType: entityTypeOf(envelope.name), entityId },
    revision,
  };
}

/** A stable text form of an entity key, usable as a Map key. */
export function entityKeyText(key: EntityKey): string {
  return JSON.stringify([key.apiSpaceId, key.entityType, key.entityId]);
}
