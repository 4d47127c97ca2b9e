import { ApiProperty } from '@nestjs/swagger';

export class WebhookAck {
  @ApiProperty({ description: 'Well-formed envelopes in this delivery (repeats included).', example: 4 })
  accepted: number;

  @ApiProperty({ description: 'Malformed batch items, kept in quarantined_deliveries.', example: 0 })
  quarantined: number;
}

export class ErrorBody {
  @ApiProperty({ example: 401 })
  statusCode: number;

  @ApiProperty({ example: 'Unauthorized' })
  error: string;

  @ApiProperty({
    example: 'X-Comapi-Signature does not match the body (hex HMAC-SHA1 of the raw body expected)',
  })
  message: string;
}

/** A minimal envelope schema for the docs; only eventId and name are required. */
export class EnvelopeDoc {
  @ApiProperty({ example: '3f9d2b6e-0c41-4d8a-9e55-7a1b2c3d4e02' })
  eventId: string;

  @ApiProperty({ example: 'message.delivered', description: 'Event name; unknown names are stored too.' })
  name: string;

  @ApiProperty({ required: false, example: 40213 })
  accountId?: number;

  @ApiProperty({ required: false, example: '5d6a9c1e-2f0b-4c7e-9a61-0b3f7e2d4c10' })
  apiSpaceId?: string;

  @ApiProperty({
    required: false,
    type: Object,
    example: { messageId: '8b1f0c52-6a3d-4e9b-b7f2-31c4d5e6a7b8' },
    description: 'Event data; the entity id is payload.messageId, else payload.id.',
  })
  payload?: Record<string, unknown>;

  @ApiProperty({ required: false, example: 2, description: 'Grows with each event about the same entity.' })
  revision?: number;

  @ApiProperty({ required: false, example: '"2c-OdiDKCvykC/7/M2nPxRHa1rAI7g"' })
  etag?: string;

  @ApiProperty({ required: false, example: '2026-11-20T09:26:19.112Z' })
  timestamp?: string;
}
