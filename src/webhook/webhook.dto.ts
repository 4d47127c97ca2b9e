import { ApiProperty, getSchemaPath } from '@nestjs/swagger';
import type {
  ExamplesObject,
  HeadersObject,
  RequestBodyObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { freshEnvelope } from './example-envelope';

export class WebhookAck {
  @ApiProperty({ description: 'Well-formed envelopes in this delivery (repeats included).', example: 4 })
  accepted: number;

  @ApiProperty({ description: 'Malformed batch items, kept in quarantined_deliveries.', example: 0 })
  quarantined: number;
}

/**
 * Every refusal of POST /webhook (400, 401, 413, 503) has this shape; the examples of each status are
 * in ERROR_EXAMPLES, so no status shows another's message.
 */
export class ErrorBody {
  @ApiProperty({ description: 'The HTTP status again.', example: 400 })
  statusCode: number;

  @ApiProperty({ description: 'The HTTP reason phrase.', example: 'Bad Request' })
  error: string;

  @ApiProperty({ description: 'What was wrong, for people (never a secret).', example: 'body is empty' })
  message: string;
}

const error = (statusCode: number, reason: string, message: string, summary: string) => ({
  summary,
  value: { statusCode, error: reason, message },
});

/** The answers the service really gives, per status (the texts of the guard, middleware and intake). */
export const ERROR_EXAMPLES: Record<400 | 401 | 413 | 503, ExamplesObject> = {
  400: {
    notJson: error(
      400,
      'Bad Request',
      'body is not valid JSON; the delivery is kept in quarantine',
      'The body is not JSON',
    ),
    notAnEnvelope: error(
      400,
      'Bad Request',
      'body is not a well-formed envelope: eventId is missing or not a non-empty string; the delivery is kept in quarantine',
      'A signed object that is not a well-formed envelope',
    ),
  },
  401: {
    missing: error(401, 'Unauthorized', 'X-Comapi-Signature header is missing', 'No signature header'),
    noMatch: error(
      401,
      'Unauthorized',
      'X-Comapi-Signature does not match the body (hex HMAC-SHA1 of the raw body expected)',
      'Signed with another secret, or over other bytes',
    ),
  },
  413: {
    tooLarge: error(
      413,
      'Payload Too Large',
      'body is larger than BODY_LIMIT (10485760 bytes)',
      'Larger than BODY_LIMIT (10mb here)',
    ),
  },
  503: {
    brokerDown: error(
      503,
      'Service Unavailable',
      'not connected to the message broker (connect ECONNREFUSED 127.0.0.1:5672)',
      'RabbitMQ unreachable',
    ),
    noConfirm: error(503, 'Service Unavailable', 'no broker confirm within 5000 ms', 'No confirm in time'),
    shuttingDown: error(
      503,
      'Service Unavailable',
      'this instance is shutting down',
      'Draining after SIGTERM',
    ),
  },
};

/** X-Delivery-Id is on every answer of POST /webhook; Retry-After on every 503. */
export const DELIVERY_ID_HEADER: HeadersObject = {
  'X-Delivery-Id': {
    description: 'The id of this delivery in the logs and in the database (webhook_events.delivery_id).',
    schema: { type: 'string', format: 'uuid' },
  },
};

/**
 * Request examples whose ids are made when the document is built (each app's document has its own,
 * see the getters): "Try it out" stores new events the first time; sending the same eventId again is
 * answered 200 and stored once.
 */
export function requestExamples(): ExamplesObject {
  return {
    get single() {
      return { summary: 'One envelope (message.sent)', value: freshEnvelope() };
    },
    get batch() {
      const id = freshEnvelope().eventId;
      const presence = freshEnvelope({ name: 'presence.available', profileId: 'joe.blogs@acme.com' });
      for (const absent of ['payload', 'revision', 'etag']) delete presence[absent];
      return {
        summary: 'A batch (Dotdigital batch mode): delivered and read of one message, and a presence event',
        value: [
          freshEnvelope({ payload: { id }, name: 'message.delivered', revision: 2 }),
          freshEnvelope({ payload: { id }, name: 'message.read', revision: 3 }),
          presence,
        ],
      };
    },
  };
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
    example: { id: '8b1f0c52-6a3d-4e9b-b7f2-31c4d5e6a7b8' },
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

/**
 * The body of POST /webhook as the service takes it: any bytes under any Content-Type, none refused
 * before they are kept (a gateway refusing a delivery with a 4xx would make Dotdigital drop it).
 * The envelope and the batch are described and given as examples, never required: under
 * application/json any JSON value is allowed, under any other type any bytes.
 */
export function webhookRequestBody(): RequestBodyObject {
  return {
    required: false,
    description:
      'One envelope, or an array of envelopes (Dotdigital batch mode). Anything else is taken too: a batch item ' +
      'that is not a well-formed envelope is kept in quarantine, a body that is neither is answered 400 once kept.',
    content: {
      'application/json': {
        schema: {
          anyOf: [
            { $ref: getSchemaPath(EnvelopeDoc) },
            { type: 'array', items: { $ref: getSchemaPath(EnvelopeDoc) } },
            {
              description:
                'Any other JSON value: kept, then answered 400 (a whole body) or quarantined (an item).',
            },
          ],
        },
        examples: requestExamples(),
      },
      '*/*': {
        schema: { type: 'string', format: 'binary', description: 'The same, under any Content-Type.' },
      },
    },
  };
}
