import {
  CanActivate,
  ExecutionContext,
  ForbiddenException,
  Injectable,
  createParamDecorator,
} from '@nestjs/common';
import { parse as parseCookies } from 'cookie';
import type { Request, Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { readForm } from './console-form';
import { ConsoleSessions, type SessionView } from './console-sessions';

export const SESSION_COOKIE = 'console_session';

export type ConsoleRequest = Request & { consoleSession?: SessionView; consoleForm?: URLSearchParams };

/** No live session: GET pages send the browser to sign in; the filter turns this into that answer. */
export class SignInRequired extends Error {
  constructor(readonly ended: boolean) {
    super('sign in to the console');
  }
}

/** The session cookie's value of a request, if any. */
export function sessionCookie(req: Request): string | undefined {
  const header = req.headers.cookie;
  return header ? parseCookies(header)[SESSION_COOKIE] : undefined;
}

/** `Secure` whenever the browser reached us over HTTPS, directly or through the load balancer. */
export function viaHttps(req: Request): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim().toLowerCase();
  return req.secure || proto === 'https';
}

export function setSessionCookie(req: Request, res: Response, value: string, maxAgeMinutes: number): void {
  res.cookie(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/console',
    secure: viaHttps(req),
    maxAge: maxAgeMinutes * 60_000,
  });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, {
    httpOnly: true,
    sameSite: 'strict',
    path: '/console',
    secure: viaHttps(req),
  });
}

/**
 * Every console page but sign-in: a live session, else sign-in. A POST also needs the session's
 * CSRF token in its form (`_csrf`), and an operator's session: read-only keys never act (403).
 */
@Injectable()
export class ConsoleSessionGuard implements CanActivate {
  constructor(private readonly sessions: ConsoleSessions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<ConsoleRequest>();
    const cookie = sessionCookie(req);
    const session = cookie ? await this.sessions.resume(cookie) : null;
    if (!session) throw new SignInRequired(cookie !== undefined);
    req.consoleSession = session;
    if (req.method === 'GET' || req.method === 'HEAD') return true;
    const token = (await readForm(req)).get('_csrf') ?? '';
    if (!sameText(token, session.csrfToken))
      throw new ForbiddenException('the form has no valid CSRF token: reload the page and try again');
    if (session.role !== 'operator' && req.path !== '/console/logout')
      throw new ForbiddenException('a read-only key can look but not act: sign in with an operator key');
    return true;
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The session the guard found (a handler parameter). */
export const Session = createParamDecorator(
  (_data: unknown, context: ExecutionContext): SessionView =>
    context.switchToHttp().getRequest<ConsoleRequest>().consoleSession!,
);
