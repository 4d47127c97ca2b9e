import {
  Controller,
  Get,
  Header,
  HttpCode,
  HttpStatus,
  Optional,
  Post,
  Req,
  UseGuards,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { RETRY_AFTER_HEADER } from '../common/retry-later.error';
import { AppConfig, HttpConfig } from '../config/config.slices';
import { Readiness } from '../health/readiness';
import { SignatureGuard } from '../signature/signature.guard';
import { SignedBy } from '../signature/signed-by';
import type { Signer } from '../signature/space-scope';
import { freshEnvelope } from './example-envelope';
import { RawBytes, Received, type ReceivedDelivery } from './received-delivery';
import { TEST_PAGE_CSP, renderTestPage } from './test-page';
import { TestPageStorage } from './test-page-storage';
import { DELIVERY_ID_HEADER, ERROR_EXAMPLES, EnvelopeDoc, ErrorBody, WebhookAck } from './webhook.dto';
import { WebhookIntake } from './webhook-intake.service';

const errorContent = (status: keyof typeof ERROR_EXAMPLES) => ({
  'application/json': { schema: { $ref: getSchemaPath(ErrorBody) }, examples: ERROR_EXAMPLES[status] },
});

/** A Host header that can be shown as it is: a name or address and an optional port. */
const PRINTABLE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

@ApiTags('webhook')
@ApiExtraModels(EnvelopeDoc, ErrorBody)
@Controller('webhook')
export class WebhookController {
  constructor(
    private readonly intake: WebhookIntake,
    private readonly readiness: Readiness,
    private readonly app: AppConfig,
    private readonly http: HttpConfig,
    /** Only in the roles that store (app.module.ts decides): the page's storage section. */
    @Optional() private readonly storage?: TestPageStorage,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @Header('Content-Security-Policy', TEST_PAGE_CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'no-referrer')
  @ApiOperation({
    summary: 'Test page: is the endpoint up and ready; sign and send a test delivery',
    description:
      'A small HTML page: readiness (and why not), storage health and the queue backlog in the roles that store, ' +
      'a form that signs a body in the browser (Web Crypto; the secret never leaves the page) and POSTs it, and ' +
      'the same as a curl line for this host. Use its "Sign" button to make the X-Comapi-Signature for "Try it out" below.',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({ description: 'A small HTML page.', schema: { type: 'string' } })
  async page(@Req() req: Request): Promise<string> {
    const [verdict, storage] = await Promise.all([this.readiness.check(), this.storage?.state() ?? null]);
    return renderTestPage({
      ...verdict,
      role: this.app.role,
      version: this.app.version,
      endpoint: `${this.originOf(req)}/webhook`,
      body: JSON.stringify(freshEnvelope(), null, 2),
      storage,
    });
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
      'sink the batch. A repeated eventId is answered 200 like any other and stored once. The X-Delivery-Id ' +
      'response header names the delivery in logs and in the database.\n\n' +
      'To try it: X-Comapi-Signature must be the hex HMAC-SHA1 of exactly the body sent. The test page ' +
      '[GET /webhook](/webhook) signs a body in your browser ("Sign"): paste the same body here and its ' +
      'signature into "Authorize" (comapiSignature), or ' +
      '`printf \'%s\' "$body" | openssl dgst -sha1 -hmac "$SECRET" | sed \'s/^.* //\'`. The examples carry ids made when this service started, so the first ' +
      '"Try it out" stores new events; change the eventId for another one.',
  })
  // The signature is a security scheme the service checks itself: also satisfied by none (`{}`), so a
  // gateway in front lets an unsigned request through to its 401 rather than answering for it.
  @ApiSecurity({})
  @ApiSecurity('comapiSignature')
  @ApiOkResponse({
    description: 'Durably queued.',
    type: WebhookAck,
    headers: DELIVERY_ID_HEADER,
    examples: {
      single: { summary: 'One envelope', value: { accepted: 1, quarantined: 0 } },
      batch: { summary: 'A batch of four, one item malformed', value: { accepted: 3, quarantined: 1 } },
    },
  })
  @ApiBadRequestResponse({
    description:
      'Signed, but empty, not JSON, or neither an envelope nor an array. Answered only once the bytes are ' +
      'kept (quarantined_deliveries). Dotdigital never retries a 400.',
    headers: DELIVERY_ID_HEADER,
    content: errorContent(400),
  })
  @ApiUnauthorizedResponse({
    description: 'Signature missing, not hex, or matching no secret. Nothing is queued.',
    headers: DELIVERY_ID_HEADER,
    content: errorContent(401),
  })
  @ApiPayloadTooLargeResponse({
    description: 'Body larger than BODY_LIMIT (checked before the signature). Nothing is queued.',
    headers: DELIVERY_ID_HEADER,
    content: errorContent(413),
  })
  @ApiServiceUnavailableResponse({
    description:
      'The broker is unreachable, did not confirm within PUBLISH_TIMEOUT_MS, or the instance is shutting down. ' +
      'Carries Retry-After; Dotdigital delivers again.',
    headers: { ...DELIVERY_ID_HEADER, ...RETRY_AFTER_HEADER },
    content: errorContent(503),
  })
  receive(
    @Received() delivery: ReceivedDelivery,
    @RawBytes() body: Buffer,
    @SignedBy() signer: Signer,
  ): Promise<WebhookAck> {
    return this.intake.receive(delivery, body, signer);
  }

  /** `http(s)://host` as the client addressed this instance (Host header), for the curl line. */
  private originOf(req: Request): string {
    const forwarded = String(req.headers['x-forwarded-proto'] ?? '')
      .split(',')[0]
      .trim();
    const scheme = forwarded === 'https' || forwarded === 'http' ? forwarded : req.protocol;
    const host = req.headers.host ?? '';
    return `${scheme}://${PRINTABLE_HOST.test(host) ? host : `localhost:${this.http.port}`}`;
  }
}
