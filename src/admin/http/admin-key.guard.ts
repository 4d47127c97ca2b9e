import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import type { Request } from 'express';
import { AdminConfig } from '../../config/config.slices';
import { noteReason } from '../../logging/request-summary';
import { AdminKeys } from './admin-keys';

export type AdminRequest = Request & { adminKey?: string };

/**
 * Lets an operations request through only with `Authorization: Bearer <key>` matching a configured
 * key; else 401 before anything is read, the reason on the request line (never the key). Records
 * the key's fingerprint for the request log.
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly keys: AdminKeys;

  constructor(config: AdminConfig) {
    this.keys = new AdminKeys(config.apiKeys);
  }

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const request = http.getRequest<AdminRequest>();
    const header = request.headers.authorization;
    if (header === undefined)
      this.refuse(http.getResponse<object>(), 'Authorization: Bearer <key> is required');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const fingerprint = match ? this.keys.match(match[1]) : null;
    if (fingerprint === null)
      this.refuse(http.getResponse<object>(), 'the bearer key is not one of ADMIN_API_KEYS');
    request.adminKey = fingerprint;
    return true;
  }

  private refuse(response: object, reason: string): never {
    noteReason(response, reason);
    throw new UnauthorizedException(reason);
  }
}
