import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import proxyaddr from 'proxy-addr';

/**
 * The console's headers: a strict Content-Security-Policy (no inline script or style, nothing from
 * elsewhere, never framed) and helmet's other defaults. HSTS is left to the load balancer that
 * terminates TLS.
 */
export const consoleHeaders: RequestHandler = helmet({
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'"],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
  },
  strictTransportSecurity: false,
});

// The load balancer's X-Forwarded-For is believed only from a private or loopback peer.
const trustedProxies = proxyaddr.compile(['loopback', 'linklocal', 'uniquelocal']);

/** The browser's address: behind the compose stack's nginx, the one nginx saw. */
export function clientAddress(req: Request): string {
  return proxyaddr(req, trustedProxies);
}

/**
 * More than 10 wrong keys a minute from one client address: 429. Only refused sign-ins count
 * (a right key resets nothing, and is never slowed). Counted per process: with N replicas behind
 * the balancer an address gets at most N × 10 tries a minute.
 */
export function loginLimiter(onLimit: RequestHandler): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: 10,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: (req) => ipKeyGenerator(clientAddress(req)),
    handler: (req, res, next) => onLimit(req, res, next),
  });
}
