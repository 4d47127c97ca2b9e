import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import type { PathItemObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { webhookRequestBody } from '../webhook/webhook.dto';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/**
 * /docs-json: a contract that gateways validate requests against and client generators build from
 * (docs/architecture.md, "The OpenAPI document"), of the routes this role serves. It passes
 * `redocly lint` (recommended rules) and every answer of the service validates against it.
 */
export function openApiDocument(app: INestApplication, { role, version }: { role: string; version: string }) {
  const config = new DocumentBuilder()
    .setTitle('Dotdigital Omnichannel webhook receiver')
    .setDescription(
      'Receives Dotdigital Omnichannel (formerly Comapi) webhook deliveries, verifies X-Comapi-Signature over the ' +
        'raw body, and answers only once the delivery is durably queued in RabbitMQ. Events are then stored once ' +
        `per eventId in PostgreSQL with per-entity revision ordering. This instance runs the role \`${role}\`.`,
    )
    .setVersion(version)
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This instance')
    .addSecurity('comapiSignature', {
      type: 'apiKey',
      in: 'header',
      name: 'X-Comapi-Signature',
      description:
        'Hex HMAC-SHA1 of the raw body under one of the configured secrets (any case). The service checks it and ' +
        'answers 401 itself; a gateway in front must let a request without it through.',
    })
    // Not `bearerFormat: JWT`: the keys are opaque strings.
    .addSecurity('bearer', {
      type: 'http',
      scheme: 'bearer',
      description: 'One of ADMIN_API_KEYS (operations API).',
    })
    .build();
  return finish(SwaggerModule.createDocument(app, config));
}

/**
 * What decorators cannot say: a route without a security requirement is public, and says so
 * (`security: []`); HEAD is answered wherever GET is; a security scheme no route of this role uses is left out; POST /webhook takes
 * any bytes under any Content-Type (two media types with their own schemas).
 */
function finish(document: OpenAPIObject): OpenAPIObject {
  const operations = Object.values(document.paths).flatMap((item: PathItemObject) =>
    METHODS.flatMap((method) => (item[method] ? [item[method]] : [])),
  );
  for (const operation of operations) operation.security ??= [];
  // Express answers HEAD on every GET route: said so, so a gateway lets a HEAD through.
  for (const item of Object.values<PathItemObject>(document.paths)) {
    if (item.get && !item.head) {
      item.head = {
        ...item.get,
        operationId: `${item.get.operationId}_head`,
        summary: `${item.get.summary ?? 'The same'}: headers only (HEAD)`,
      };
    }
  }
  const used = new Set(operations.flatMap((operation) => operation.security!.flatMap(Object.keys)));
  const schemes = document.components?.securitySchemes ?? {};
  for (const name of Object.keys(schemes)) if (!used.has(name)) delete schemes[name];
  const receive = document.paths['/webhook']?.post;
  if (receive) receive.requestBody = webhookRequestBody();
  return document;
}
