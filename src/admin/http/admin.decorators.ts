import {
  Controller,
  HttpCode,
  HttpStatus,
  UseGuards,
  UseInterceptors,
  applyDecorators,
  type Type,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOperation,
  ApiResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { RETRY_AFTER_HEADER } from '../../common/retry-later.error';
import { AdminError, AmbiguousEntity } from '../admin.views';
import { SchemaReadyGuard } from '../../database/schema-ready.guard';
import { AdminKeyGuard } from './admin-key.guard';
import { AdminRequestLog } from './admin-request.interceptor';
import { DatabaseTroubleInterceptor } from './database-trouble.interceptor';
import { DocumentQuery, type QueryParams } from './query-params';
import { RawJsonInterceptor } from './raw-json';

/**
 * A controller under /admin: bearer keys checked first, every request logged, answers as exact JSON,
 * PostgreSQL's passing trouble answered 503 with Retry-After.
 */
export function AdminController(path: string): ClassDecorator {
  return applyDecorators(
    Controller(`admin/${path}`),
    UseGuards(AdminKeyGuard, SchemaReadyGuard),
    // The log line outermost, so that it records the 503 a database outage becomes.
    UseInterceptors(AdminRequestLog, RawJsonInterceptor, DatabaseTroubleInterceptor),
    ApiBearerAuth(),
    ApiTags('operations'),
    ApiUnauthorizedResponse({
      description: 'No bearer key, or not one of ADMIN_API_KEYS or ADMIN_READ_KEYS.',
      type: AdminError,
    }),
    ApiForbiddenResponse({
      description: 'A read-only key (ADMIN_READ_KEYS) on an action.',
      type: AdminError,
    }),
    ApiServiceUnavailableResponse({
      description:
        'PostgreSQL is not reachable now, or the schema is still being migrated (after 5 s of waiting). ' +
        'Carries Retry-After.',
      headers: RETRY_AFTER_HEADER,
      type: AdminError,
    }),
  );
}

export interface EndpointDocs {
  summary: string;
  description?: string;
  query?: QueryParams;
  /** The answer's type and status (200 unless said). */
  answer: Type<unknown>;
  status?: HttpStatus;
  /** When the route answers 404, and why. */
  notFound?: string;
  /** When the route answers 409 naming the API spaces to choose from, and why. */
  ambiguous?: string;
}

/** The docs, validation errors and status of one operations route. */
export function AdminEndpoint(docs: EndpointDocs): MethodDecorator {
  const status = docs.status ?? HttpStatus.OK;
  return applyDecorators(
    HttpCode(status),
    ApiOperation({ summary: docs.summary, description: docs.description }),
    ...(docs.query ? [DocumentQuery(docs.query)] : []),
    ApiResponse({ status, type: docs.answer }),
    ApiBadRequestResponse({
      description: 'A parameter is not valid; the message names it.',
      type: AdminError,
    }),
    ...(docs.notFound ? [ApiNotFoundResponse({ description: docs.notFound, type: AdminError })] : []),
    ...(docs.ambiguous ? [ApiConflictResponse({ description: docs.ambiguous, type: AmbiguousEntity })] : []),
  );
}
