import { randomBytes } from 'node:crypto';
import { DestinationsFileError, parseDestinationsFile } from './destinations-file';

const secret = () => `whsec_${randomBytes(24).toString('base64')}`;

function problemsOf(text: string): string[] {
  try {
    parseDestinationsFile(text);
  } catch (err) {
    if (err instanceof DestinationsFileError) return [...err.problems];
    throw err;
  }
  throw new Error('the file was accepted');
}

describe('parseDestinationsFile', () => {
  it('fills the defaults of the design and decodes each secret', () => {
    const key = randomBytes(32);
    const [crm] = parseDestinationsFile(
      JSON.stringify([
        { name: 'crm', url: 'https://crm.example/hooks', secrets: [`whsec_${key.toString('base64')}`] },
      ]),
    );
    expect(crm).toEqual({
      name: 'crm',
      url: 'https://crm.example/hooks',
      keys: [key],
      filter: ['#'],
      ordering: 'entity',
      timeoutMs: 10_000,
      maxInFlight: 16,
      maxAgeHours: 72,
      headers: {},
    });
  });

  it('reads YAML too', () => {
    const text = [
      '- name: desk',
      '  url: http://desk.internal:8080/in',
      `  secrets: [${secret()}, ${secret()}]`,
      '  filter: ["applied.message.#"]',
      '  ordering: none',
      '  headers: { X-Tenant: acme }',
    ].join('\n');
    const [desk] = parseDestinationsFile(text);
    expect(desk).toMatchObject({ name: 'desk', ordering: 'none', filter: ['applied.message.#'] });
    expect(desk.keys).toHaveLength(2);
    expect(desk.headers).toEqual({ 'X-Tenant': 'acme' });
  });

  it('accepts an empty list', () => {
    expect(parseDestinationsFile('[]')).toEqual([]);
  });

  it('names the destination and the field of each problem, never a secret', () => {
    const bad = 'whsec_short';
    const problems = problemsOf(
      JSON.stringify([
        { name: 'crm', url: 'ftp://crm.example', secrets: [bad] },
        { name: 'Desk', url: 'https://desk.example', secrets: [secret()], filter: ['applied.mess*ge'] },
      ]),
    );
    expect(problems).toEqual([
      'destination "crm" (entry 1): url: must be an http:// or https:// URL (without user or password)',
      expect.stringMatching(/^destination "crm" \(entry 1\): secrets\.0: must be whsec_/),
      'destination "Desk" (entry 2): name: must be lower-case letters, digits and dashes',
      expect.stringMatching(/^destination "Desk" \(entry 2\): filter\.0: must be a routing-key pattern/),
    ]);
    expect(problems.join(' ')).not.toContain(bad);
  });

  it('refuses duplicate names, unknown fields and headers the service sets', () => {
    const base = { url: 'https://a.example', secrets: [secret()] };
    expect(
      problemsOf(
        JSON.stringify([
          { name: 'a', ...base },
          { name: 'a', ...base },
          { name: 'b', ...base, retries: 3 },
          { name: 'c', ...base, headers: { 'Webhook-Signature': 'v1,x', 'X-Ok': 'yes' } },
          { name: 'd', ...base, maxInFlight: 0 },
        ]),
      ),
    ).toEqual([
      'destination "a" (entry 2): name: is used by an earlier destination',
      expect.stringMatching(/^destination "b" \(entry 3\): \(entry\): Unrecognized key/),
      'destination "c" (entry 4): headers.Webhook-Signature: is set by the service and cannot be overridden',
      expect.stringMatching(/^destination "d" \(entry 5\): maxInFlight: /),
    ]);
  });

  it('refuses credentials in the URL, and a document that is not a list', () => {
    expect(
      problemsOf(JSON.stringify([{ name: 'a', url: 'https://u:p@a.example', secrets: [secret()] }])),
    ).toEqual([expect.stringContaining('url: must be an http:// or https:// URL')]);
    expect(problemsOf('{"name": "a"}')).toEqual(['must be a list of destinations']);
    expect(problemsOf('')).toEqual(['is empty']);
    expect(problemsOf('- name: [unclosed')).toEqual([
      expect.stringMatching(/^is neither valid JSON nor valid YAML/),
    ]);
  });
});
