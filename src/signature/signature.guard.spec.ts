import { HttpStatus, UnauthorizedException, type ExecutionContext } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { Metrics } from '../metrics/metrics.service';
import { SignatureGuard } from './signature.guard';
import { SignatureMetrics } from './signature.metrics';
import { SpaceSecrets } from './space-secrets';

const SECRET = 'guard-secret-0123456789abcdef';
const SECOND = 'guard-rotated-abcdefghijklmnop';
const BODY = Buffer.from('{"eventId":"e-1","name":"message.sent","payload":{"messageId":"m-1"}}');
const sign = (body: Buffer, secret = SECRET) => createHmac('sha1', secret).update(body).digest('hex');

/** The smallest ExecutionContext the guard reads: an HTTP request with headers and the raw body. */
function contextFor(request: {
  headers: Record<string, string | string[]>;
  rawBody?: Buffer;
}): ExecutionContext {
  const http = { getRequest: () => request, getResponse: () => ({}), getNext: () => undefined };
  return { switchToHttp: () => http, getType: () => 'http' } as unknown as ExecutionContext;
}

function rejectionOf(guard: SignatureGuard, context: ExecutionContext): UnauthorizedException {
  try {
    guard.canActivate(context);
  } catch (err) {
    return err as UnauthorizedException;
  }
  throw new Error('the guard let the request through');
}

describe(SignatureGuard.name, () => {
  let metrics: Metrics;
  let guard: SignatureGuard;
  beforeEach(() => {
    metrics = new Metrics();
    const secrets = new SpaceSecrets(
      { secrets: [SECRET, SECOND], spacesFile: null },
      new SignatureMetrics(metrics),
    );
    secrets.onModuleInit();
    guard = new SignatureGuard(secrets, metrics);
  });

  const badSignatures = async () =>
    (await metrics.deliveries.get()).values.find((v) => v.labels.result === 'bad_signature')?.value ?? 0;

  it('lets a validly signed request through', async () => {
    expect(
      guard.canActivate(contextFor({ headers: { 'x-comapi-signature': sign(BODY) }, rawBody: BODY })),
    ).toBe(true);
    expect(await badSignatures()).toBe(0);
  });

  it('lets through a request signed with the second configured secret, in upper case', () => {
    const headers = { 'x-comapi-signature': sign(BODY, SECOND).toUpperCase() };
    expect(guard.canActivate(contextFor({ headers, rawBody: BODY }))).toBe(true);
  });

  it('rejects a request without the header with 401 saying it is missing', async () => {
    const error = rejectionOf(guard, contextFor({ headers: {}, rawBody: BODY }));
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
    expect(error.message).toMatch(/missing/);
    expect(await badSignatures()).toBe(1);
  });

  it.each([
    ['an empty signature', ''],
    ['a non-hex signature', 'not-a-signature'],
    ['a truncated signature', sign(BODY).slice(0, 39)],
    ['a base64 signature', createHmac('sha1', SECRET).update(BODY).digest('base64')],
    ['a signature under another secret', sign(BODY, 'some-other-secret-0123456')],
    ['a signature of other bytes', sign(Buffer.from('{}'))],
  ])('rejects %s with 401 saying it does not match', (_, signature) => {
    const error = rejectionOf(
      guard,
      contextFor({ headers: { 'x-comapi-signature': signature }, rawBody: BODY }),
    );
    expect(error).toBeInstanceOf(UnauthorizedException);
    expect(error.getStatus()).toBe(HttpStatus.UNAUTHORIZED);
    expect(error.message).toMatch(/does not match/);
    expect(error.message).not.toMatch(/missing/);
  });

  it('rejects a header sent twice (an array) with 401', () => {
    const headers = { 'x-comapi-signature': [sign(BODY), sign(BODY)] };
    expect(rejectionOf(guard, contextFor({ headers, rawBody: BODY })).getStatus()).toBe(
      HttpStatus.UNAUTHORIZED,
    );
  });

  it('says whether the header was missing, not hex, or matched no secret', () => {
    const answer = (headers: Record<string, string>) =>
      rejectionOf(guard, contextFor({ headers, rawBody: BODY })).message;
    expect(answer({})).toBe('X-Comapi-Signature header is missing');
    expect(answer({ 'x-comapi-signature': 'zz' })).toMatch(/does not match the body.*not 40 hex digits/);
    expect(answer({ 'x-comapi-signature': '00'.repeat(20) })).toBe(
      'X-Comapi-Signature does not match the body (hex HMAC-SHA1 of the raw body expected)',
    );
  });

  it('gives different messages for a missing and a mismatching signature', () => {
    const missing = rejectionOf(guard, contextFor({ headers: {}, rawBody: BODY }));
    const wrong = rejectionOf(
      guard,
      contextFor({ headers: { 'x-comapi-signature': '00'.repeat(20) }, rawBody: BODY }),
    );
    expect(missing.message).not.toBe(wrong.message);
  });

  it('never mentions a secret (or the expected digest) in what it answers', () => {
    const cases: Record<string, string>[] = [
      {},
      { 'x-comapi-signature': '' },
      { 'x-comapi-signature': sign(BODY, 'x'.repeat(20)) },
    ];
    for (const headers of cases) {
      const error = rejectionOf(guard, contextFor({ headers, rawBody: BODY }));
      const answer = JSON.stringify(error.getResponse()) + error.message;
      for (const leak of [SECRET, SECOND, sign(BODY), sign(BODY, SECOND)]) expect(answer).not.toContain(leak);
    }
  });

  it('refuses to run without the raw body (a wiring error, not a 401)', () => {
    expect(() => guard.canActivate(contextFor({ headers: { 'x-comapi-signature': sign(BODY) } }))).toThrow(
      /raw body/,
    );
  });
});
