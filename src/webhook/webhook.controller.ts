import { Controller, Get, Header, HttpCode, HttpStatus, Post, UseGuards } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiExtraModels,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { AppConfig } from '../config/config.slices';
import { Readiness } from '../health/readiness';
import { SignatureGuard } from '../signature/signature.guard';
import { RawBytes, Received, type ReceivedDelivery } from './received-delivery';
import { renderTestPage } from './test-page';
import { EnvelopeDoc, ErrorBody, WebhookAck } from './webhook.dto';
import { WebhookIntake } from './webhook-intake.service';

@ApiTags('webhook')
@ApiExtraModels(EnvelopeDoc)
@Controller('webhook')
export class WebhookController {
  constructor(
    private readonly intake: WebhookIntake,
    private readonly readiness: Readiness,
    private readonly app: AppConfig,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Test page: is the endpoint up and ready to accept deliveries' })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'A small HTML page.', schema: { type: 'string' } })
  async page(): Promise<string> {
    return renderTestPage({ ...(await this.readiness.check()), role: this.app.role });
  }

  @Post()
  @HttpCode(HttpStatus.OK)
  @UseGuards(SignatureGuard)
  @ApiOperation({
    summary: 'Receive a Dotdigital Omnichannel webhook delivery',
    description:
      'One envelope or a batch (JSON array, up to 500 in Dotdigital batch mode; larger ones are accepted too). ' +
      'The body is read as raw bytes whatever the Content-Type. The answer comes only after the delivery is ' +
      'durably in the message broker (publisher confirm). Malformed batch items are kept in quarantine and never ' +
      'sink the batch. The X-Delivery-Id response header names the delivery in logs and in the database.',
  })
  @ApiHeader({
    name: 'X-Comapi-Signature',
    required: true,
    description: 'Hex HMAC-SHA1 of the raw body under one of the configured WEBHOOK_SECRETS (any case).',
  })
  @ApiBody({
    description: 'One envelope, or an array of envelopes.',
    schema: {
      oneOf: [
        { $ref: getSchemaPath(EnvelopeDoc) },
        { type: 'array', items: { $ref: getSchemaPath(EnvelopeDoc) } },
      ],
    },
  })
  @ApiOkResponse({ description: 'Durably queued.', type: WebhookAck })
  @ApiBadRequestResponse({
    description:
      'Signed, but empty, not JSON, or neither an envelope nor an array. Answered only once the bytes are ' +
      'kept (quarantined_deliveries).',
    type: ErrorBody,
  })
  @ApiUnauthorizedResponse({
    description: 'Signature missing, not hex, or matching no secret.',
    type: ErrorBody,
  })
  @ApiPayloadTooLargeResponse({ description: 'Body larger than BODY_LIMIT (checked before the signature).' })
  @ApiServiceUnavailableResponse({
    description:
      'The broker is unreachable, did not confirm within PUBLISH_TIMEOUT_MS, or the instance is shutting down. ' +
      'Carries Retry-After; Dotdigital delivers again.',
    headers: {
      'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer' } },
    },
    type: ErrorBody,
  })
  receive(@Received() delivery: ReceivedDelivery, @RawBytes() body: Buffer): Promise<WebhookAck> {
    return this.intake.receive(delivery, body);
  }
}
