import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { NO_NUL_PATTERN } from './http/query-params';
import { RawJson } from './http/raw-json';

/*
 * What the operations API answers (docs/architecture.md, "The operations API").
 * bigint columns are numbers when JavaScript holds them exactly, else their exact decimal text.
 */

export class AdminError {
  @ApiProperty({ example: 400 }) statusCode: number;
  @ApiProperty({ example: 'Bad Request' }) error: string;
  @ApiProperty({ example: 'limit: must be a whole number from 1 to 500' }) message: string;
  @ApiPropertyOptional({ example: 'limit', description: 'The parameter at fault (400 only).' })
  parameter?: string;
}

/**
 * A bigint column: a number when JavaScript holds it exactly, else its decimal text; `null` allowed
 * where the column is nullable. anyOf with `nullable` beside each `type`, so strict OpenAPI 3.0
 * validators accept null (a `nullable` without `type` is ignored by them).
 */
const exactIntegerSchema = (nullable: boolean) => ({
  anyOf: [
    { type: 'integer', nullable },
    { type: 'string', pattern: '^-?[0-9]+$', nullable },
  ],
});

/** An object or null (OpenAPI 3.0: `nullable` is ignored beside a $ref, so null is a branch of its own). */
const objectOrNull = (ref: string) => ({
  oneOf: [{ $ref: ref }, { type: 'object', nullable: true, enum: [null] }],
});

export class AmbiguousEntity extends AdminError {
  @ApiProperty({
    type: [String],
    example: ['5d6a9c1e-2f0b-4c7e-9a61-0b3f7e2d4c10', '7e0c2a41-93b5-4d6f-8e21-4a5b6c7d8e9f'],
    description: 'Every API space the entity exists in ("" for events without one): pass one as apiSpaceId.',
  })
  apiSpaceIds: string[];
}

export class EventView {
  @ApiProperty({ example: '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e02' }) eventId: string;
  @ApiProperty({ example: 'message.read' }) name: string;
  @ApiProperty({ type: String, nullable: true, example: '5d6a9c1e-2f0b-4c7e-9a61-0b3f7e2d4c10' }) apiSpaceId:
    string | null;
  @ApiProperty({ ...exactIntegerSchema(true), example: 40213 })
  accountId: number | string | null;
  @ApiProperty({ example: 'message' }) entityType: string;
  @ApiProperty({ type: String, nullable: true, example: '8b1f0c52-6a3d-4e9b-b7f2-31c4d5e6a7b8' }) entityId:
    string | null;
  @ApiProperty({ ...exactIntegerSchema(true), example: 3 })
  revision: number | string | null;
  @ApiProperty({ type: String, nullable: true, example: '"2c-OdiDKCvykC/7/M2nPxRHa1rAI7g"' }) etag:
    string | null;
  @ApiProperty({ enum: ['applied', 'stale', 'untracked'], example: 'applied' }) outcome: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) eventTimestamp: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) receivedAt: string;
  @ApiProperty({ example: 'b7c1e3a0-5d2f-4f7e-8a90-1c2d3e4f5a6b' }) deliveryId: string;
  @ApiProperty({ type: Object, description: 'The whole envelope, exactly as stored.' }) payload: RawJson;
}

export class EventPage {
  @ApiProperty({ type: [EventView] }) items: EventView[];
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last.',
  })
  nextCursor: string | null;
}

export class EntityState {
  @ApiProperty({ ...exactIntegerSchema(false), example: 3 }) revision: number | string;
  @ApiProperty() eventId: string;
  @ApiProperty({ example: 'message.read' }) eventName: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) eventTimestamp: string | null;
  @ApiProperty({ type: String, format: 'date-time' }) updatedAt: string;
}

@ApiExtraModels(EntityState)
export class EntityStory {
  @ApiProperty({
    ...objectOrNull(getSchemaPath(EntityState)),
    description: 'The latest state (entity_revisions), or null.',
  })
  state: EntityState | null;
  @ApiProperty({
    type: [EventView],
    description: 'Every stored event naming this entity, by revision, then received_at.',
  })
  events: EventView[];
}

export class QuarantineItem {
  @ApiProperty({ type: 'integer', format: 'int64', example: 17 }) id: number;
  @ApiProperty({ type: String, format: 'date-time' }) receivedAt: string;
  @ApiProperty({ example: 'name is missing or not a non-empty string' }) reason: string;
  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Position in the batch; null for a whole delivery.',
  })
  itemIndex: number | null;
  @ApiProperty() deliveryId: string;
  @ApiProperty({ type: 'integer', description: 'Size of the kept bytes.', example: 412 }) bytes: number;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) replayedAt: string | null;
  @ApiProperty({ type: String, nullable: true }) replayDeliveryId: string | null;
  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'When an operator marked it resolved (no replay needed).',
  })
  resolvedAt: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Why it was marked resolved.' })
  resolvedReason: string | null;
}

export class QuarantineResolved {
  @ApiProperty({ type: 'integer', format: 'int64', example: 17 }) id: number;
  @ApiProperty({ type: String, format: 'date-time' }) resolvedAt: string;
}

export class QuarantineDetail extends QuarantineItem {
  @ApiProperty({ description: 'The kept bytes, base64.' }) body: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'The kept bytes as text when they are UTF-8, else null.',
  })
  text: string | null;
}

export class QuarantinePage {
  @ApiProperty({ type: [QuarantineItem] }) items: QuarantineItem[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}

export class ReplayAccepted {
  @ApiProperty({ description: 'The new delivery the kept bytes were published as.' }) deliveryId: string;
}

export class ActionReason {
  @ApiProperty({
    minLength: 3,
    example: 'sender fixed; bring it back',
    description: 'Why; kept in the audit trail.',
  })
  reason: string;
}

/** The bounds of the replay body's validation (events.controller.ts), for /docs-json. */
export class ReplayRequest {
  @ApiProperty({ format: 'date-time', description: 'received_at at or after.' }) since: string;
  @ApiProperty({ format: 'date-time', description: 'received_at before; later than since.' }) until: string;
  @ApiPropertyOptional({ example: 'message.read', minLength: 1, maxLength: 200, pattern: NO_NUL_PATTERN })
  name?: string;
  @ApiPropertyOptional({ minLength: 1, maxLength: 512, pattern: NO_NUL_PATTERN }) apiSpaceId?: string;
  @ApiProperty({
    minLength: 3,
    example: 'new consumer backfill',
    description: 'Why; kept in the audit trail.',
  })
  reason: string;
}

export class EventsReplayed {
  @ApiProperty({ description: 'Events queued for the feed again, marked x-replayed.', example: 1200 })
  events: number;
}

export class DeadLetterCount {
  @ApiProperty({ description: 'Deliveries in the dead-letter queue.', example: 2 }) messages: number;
}

export class DeadLettersMoved {
  @ApiProperty({ description: 'Deliveries moved back to the main queue.', example: 2 }) moved: number;
}

/** A bigint column as read by pg (text): a number when exact, else the text itself. */
export function exactInteger(value: string | null): number | string | null {
  if (value === null) return null;
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : value;
}

export function isoOrNull(value: Date | null): string | null {
  return value ? value.toISOString() : null;
}

export class AuditView {
  @ApiProperty({ example: 12 }) id: number;
  @ApiProperty({ type: String, format: 'date-time' }) at: string;
  @ApiProperty({
    description: 'First 8 hex digits of the SHA-256 of the key that acted.',
    example: '3fa2c91b',
  })
  keyId: string;
  @ApiProperty({ enum: ['quarantine.replay', 'dead-letters.move', 'events.replay'] }) action: string;
  @ApiProperty({ example: 'quarantine/17' }) target: string;
  @ApiProperty({ example: 'fixed the sender; bring it back' }) reason: string;
  @ApiProperty({ type: Object, description: 'What the action did.' }) result: RawJson;
}

export class AuditPage {
  @ApiProperty({ type: [AuditView] }) items: AuditView[];
  @ApiProperty({ type: String, nullable: true }) nextCursor: string | null;
}
