import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { PAGE_PARAMS, param, type QueryParam } from './query-params';

/**
 * Each parameter kind's zod validation and its OpenAPI schema agree on what a query string may hold:
 * a value is taken by the service exactly when a validator of /docs-json (ajv, query values coerced
 * as OpenAPI tools do) takes it. The instant format is RFC 3339 in the document and strict ISO 8601
 * in the service: both refuse what either refuses for the probes below.
 */
const ajv = new Ajv({ strict: true, coerceTypes: true });
addFormats(ajv);

function agree(p: Pick<QueryParam, 'schema' | 'openapi'>, probes: string[]): void {
  const validate = ajv.compile(p.openapi);
  const service = probes.map((value) => [value, p.schema.safeParse(value).success]);
  expect(probes.map((value) => [value, validate(value)])).toEqual(service);
  // Each kind's probes hold values both take and values both refuse.
  expect(new Set(service.map(([, taken]) => taken))).toEqual(new Set([true, false]));
}

describe('query parameters: the document says what the validation takes', () => {
  it.each([
    ['limit', PAGE_PARAMS.limit, ['1', '50', '500', '0', '501', '-1', '1.5', 'ten', '1e20']],
    ['count', param.count(), ['1', '7', '0', '-3', '2.5', 'x']],
    ['text(5)', param.text(5), ['a', 'abcde', '', 'abcdef', 'a\u0000b']],
    ['textOrEmpty(3)', param.textOrEmpty(3), ['', 'abc', 'abcd', '\u0000']],
    ['oneOf', param.oneOf(['applied', 'stale'] as const), ['applied', 'stale', 'APPLIED', '', 'other']],
    [
      'instant',
      param.instant(),
      [
        '2026-11-20T09:00:00Z',
        '2026-11-20T09:00:00.123+01:00',
        '2026-11-20',
        '1700000000',
        'yesterday',
        '2026-02-30T00:00:00Z',
      ],
    ],
  ])('%s', (_, p, probes) => agree(p, probes));
});
