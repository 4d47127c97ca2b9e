import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  UnauthorizedException,
  createParamDecorator,
} from '@nestjs/common';
import type { Request } from 'express';
import { AdminConfig } from '../../config/config.slices';
import { noteReason } from '../../logging/request-summary';
import { AdminKeys, type AdminActor } from './admin-keys';

export type AdminRequest = Request & { adminKey?: string; adminActor?: AdminActor };

/**
 * Lets an operations request through only with `Authorization: Bearer <key>` matching a configured
 * key; else 401 before anything is read, the reason on the request line (never the key). A read-only
 * key may only GET: any other method is 403. The verdict travels on the request.
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly keys: AdminKeys;

  constructor(config: AdminConfig) {
    this.keys = new AdminKeys(config);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<AdminRequest>();
    const header = request.headers.authorization;
    if (header === undefined)
      this.refuse(http.getResponse<object>(), 'Authorization: Bearer <key> is required');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const actor = match ? this.keys.match(match[1]) : null;
    if (actor === null) {
      this.refuse(
        http.getResponse<object>(),
        'the bearer key is not one of ADMIN_API_KEYS or ADMIN_READ_KEYS',
      );
    }
    request.adminKey = actor.keyId;
    request.adminActor = actor;
    if (actor.role === 'read' && request.method !== 'GET' && request.method !== 'HEAD') {
      const reason = 'a read-only key (ADMIN_READ_KEYS) cannot act; use an operator key (ADMIN_API_KEYS)';
      noteReason(http.getResponse<object>(), reason);
      throw new ForbiddenException(reason);
    }
    return true;
  }

  private refuse(response: object, reason: string): never {
    noteReason(response, reason);
    throw new UnauthorizedException(reason);
  }
}

/** The actor the guard let through (a handler parameter). */
export const Actor = createParamDecorator(
  (_data: unknown, context: ExecutionContext): AdminActor =>
    context.switchToHttp().getRequest<AdminRequest>().adminActor!,
);
