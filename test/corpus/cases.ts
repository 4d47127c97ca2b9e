/**
 * The hostile-input corpus of POST /webhook (and its neighbours): each case is what is sent and
 * what it must get: the answer, the webhook_events rows, the quarantined_deliveries rows, and for
 * the cases sent to the built service in a child process, what its log may not contain.
 * test/corpus.e2e-spec.ts sends every case and checks it; this file holds data only.
 *
 * Ids are unique per run (the spec's database is its own, but the shared broker is not), and every
 * message has an entity of its own, so a tracked event is `applied` unless a case says otherwise.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { OTHER_SECRET, TEST_SECRET } from '../support/env';
import { sign } from '../support/signing';

/** BODY_LIMIT of both services under test: small enough to send "just over" quickly. */
export const BODY_LIMIT = 2 * 1024 * 1024;

/** Where a case is sent: the in-process app, or the built service in a child process (raw sockets, logs). */
export type Target = 'app' | 'service';

/** A request through node:http: exactly these headers (plus Host and Content-Length). */
export interface HttpSend {
  kind: 'http';
  method?: string;
  /** Default /webhook. */
  path?: string;
  body?: Buffer;
  /** X-Comapi-Signature: default the lower-case hex HMAC-SHA1 of `body`; null sends none; an array repeats it. */
  signature?: string | string[] | null;
  /** Default application/json; null sends none. */
  contentType?: string | null;
  headers?: Record<string, string | string[]>;
  /** Stream the body without Content-Length (chunked), in pieces of this many bytes. */
  chunkBytes?: number;
  expectContinue?: boolean;
}

/** Exact bytes on one TCP connection, for what no HTTP client sends (pipelining, broken framing, CR/LF). */
export interface RawSend {
  kind: 'raw';
  bytes: Buffer;
}

export type ColumnName =
  | 'name'
  | 'account_id'
  | 'api_space_id'
  | 'entity_type'
  | 'entity_id'
  | 'revision'
  | 'etag'
  | 'event_timestamp'
  | 'outcome';

export interface StoredEvent {
  eventId: string;
  /** The envelope's exact text as sent: the stored payload must be equal to it as jsonb. */
  text: string;
  /** Columns that must hold exactly these values (bigints as decimal text, event_timestamp as ISO, ms). */
  columns?: Partial<Record<ColumnName, string | null>>;
  /** `payload #>> path` must be exactly this text (null: no such member). */
  paths?: [string[], string | null][];
}

export interface KeptItem {
  /** null: the whole delivery. */
  itemIndex: number | null;
  reason: RegExp;
  /** The exact bytes the row must hold. */
  body: Buffer;
}

export interface Expectation {
  /** The status of each answer on the connection, in order ([] for none at all). */
  status: number | number[];
  /** The (first) answer's JSON must contain this. */
  answer?: Record<string, unknown>;
  /** The (first) answer's JSON `message` must match. */
  message?: RegExp;
  /** The answer is the HTML test page (with a body unless HEAD). */
  html?: boolean;
  /** The server closes the connection after answering. */
  closes?: boolean;
  /** Exactly these events of this delivery are stored. */
  stored: StoredEvent[];
  /** Exactly these quarantine rows come of this delivery. */
  quarantined: KeptItem[];
  /** These eventIds are nowhere in webhook_events. */
  notStored?: string[];
  /** This delivery repeats a stored eventId with other content: the row keeps `keeps`, a conflict is counted. */
  conflicts?: { eventId: string; keeps: string }[];
  /** (service) No log line may contain these. */
  notLogged?: string[];
  /** (service) The request line of this delivery shows this request target. */
  loggedUrl?: string;
}

export interface CorpusCase {
  group: string;
  name: string;
  target: Target;
  send: HttpSend | RawSend;
  expect: Expectation;
}

const RUN = randomBytes(4).toString('hex');
let sequence = 0;
const newId = (tag: string) => `corpus-${RUN}-${tag}-${++sequence}`;

export const SPACE = 'space-corpus';
export const TIMESTAMP = '2026-11-20T09:26:14.801Z';

interface Built {
  id: string;
  text: string;
}

/** A well-formed envelope with a fresh eventId and entity; `fields` override (undefined removes). */
function make(tag: string, fields: Record<string, unknown> = {}): Built {
  const eventId = newId(tag);
  const value: Record<string, unknown> = {
    eventId,
    accountId: 40213,
    apiSpaceId: SPACE,
    name: 'message.sent',
    payload: { messageId: `m-${eventId}` },
    revision: 1,
    etag: '"1c-corpus"',
    timestamp: TIMESTAMP,
    ...fields,
  };
  return { id: value.eventId as string, text: JSON.stringify(value) };
}

/** An envelope written by hand (JSON.stringify could not write it): `write` gets a fresh eventId. */
function handWritten(tag: string, write: (eventId: string) => string): Built {
  const eventId = newId(tag);
  return { id: eventId, text: write(eventId) };
}

/** A hand-written envelope with the usual members around `members` (raw JSON text, no braces). */
function withMembers(tag: string, members: string | ((eventId: string) => string)): Built {
  return handWritten(tag, (eventId) => {
    const extra = typeof members === 'string' ? members : members(eventId);
    return (
      `{"eventId":${JSON.stringify(eventId)},"name":"message.sent","apiSpaceId":"${SPACE}",` +
      `"payload":{"messageId":"m-${eventId}"},"timestamp":"${TIMESTAMP}",${extra}}`
    );
  });
}

const utf8 = (text: string) => Buffer.from(text, 'utf8');
const batchOf = (items: Built[]) => utf8(`[${items.map((item) => item.text).join(',')}]`);

const ALL_COLUMNS = (built: Built): StoredEvent['columns'] => ({
  name: 'message.sent',
  account_id: '40213',
  api_space_id: SPACE,
  entity_type: 'message',
  entity_id: `m-${built.id}`,
  revision: '1',
  etag: '"1c-corpus"',
  event_timestamp: TIMESTAMP,
  outcome: 'applied',
});

const stored = (
  built: Built,
  columns?: StoredEvent['columns'],
  paths?: StoredEvent['paths'],
): StoredEvent => ({
  eventId: built.id,
  text: built.text,
  ...(columns ? { columns } : {}),
  ...(paths ? { paths } : {}),
});

const post = (body: Buffer, extra: Omit<HttpSend, 'kind' | 'body'> = {}): HttpSend => ({
  kind: 'http',
  body,
  ...extra,
});

const cases: CorpusCase[] = [];

function add(
  group: string,
  name: string,
  send: HttpSend | RawSend,
  expect: Expectation,
  target: Target = 'app',
) {
  cases.push({ group, name, target, send, expect });
}

/** 200, every envelope given stored (and nothing kept). */
function accepts(
  group: string,
  name: string,
  body: Buffer,
  events: StoredEvent[],
  extra: Partial<HttpSend> = {},
) {
  add(group, name, post(body, extra), {
    status: 200,
    answer: { accepted: events.length, quarantined: 0 },
    stored: events,
    quarantined: [],
  });
}

/** 400 naming the problem; the exact bytes kept as one whole-delivery row; nothing stored. */
function keepsWhole(group: string, name: string, body: Buffer, reason: RegExp, notStored: string[] = []) {
  add(group, name, post(body), {
    status: 400,
    message: reason,
    stored: [],
    quarantined: [{ itemIndex: null, reason, body }],
    notStored,
  });
}

/** A refusal before anything is kept (401, 404, 413, …): nothing stored, nothing kept. */
function refuses(
  group: string,
  name: string,
  status: number,
  send: HttpSend | RawSend,
  notStored: string[],
  target: Target = 'app',
) {
  add(group, name, send, { status, stored: [], quarantined: [], notStored }, target);
}

/** 200 `{"accepted": 1}` but the envelope cannot be stored: kept whole, with the reason. */
function acceptsButKeeps(group: string, name: string, built: Built, reason: RegExp) {
  const body = utf8(built.text);
  add(group, name, post(body), {
    status: 200,
    answer: { accepted: 1, quarantined: 0 },
    stored: [],
    quarantined: [{ itemIndex: null, reason, body }],
    notStored: [built.id],
  });
}

// ---------------------------------------------------------------------------------------------
// The cases the issue listed as failing before (now fixed): each proven here.
{
  const g = 'issue (fixed)';
  // Two deliveries whose eventIds differ only in bytes that are not UTF-8: decoded with
  // replacement characters they would be the same id, and the second would be a "repeat".
  const stem = newId('utf8-collide');
  for (const bad of [[0xff], [0xfe]]) {
    const body = Buffer.concat([
      utf8(`{"eventId":"${stem}-`),
      Buffer.from(bad),
      utf8('","name":"message.sent"}'),
    ]);
    keepsWhole(
      g,
      `invalid UTF-8 in the eventId (byte 0x${bad[0].toString(16)}): 400, kept whole`,
      body,
      /not valid UTF-8/,
      [`${stem}-\ufffd`, `${stem}-`],
    );
  }
  const account = withMembers('exact-account', '"accountId":9007199254740993,"revision":1');
  accepts(
    g,
    'accountId 9007199254740993 (2^53+1) kept exactly in account_id and payload',
    utf8(account.text),
    [stored(account, { account_id: '9007199254740993' }, [[['accountId'], '9007199254740993']])],
  );
  const revision = withMembers('exact-revision', '"accountId":1,"revision":9223372036854775807');
  accepts(g, 'revision 2^63-1 kept exactly, and orders the entity', utf8(revision.text), [
    stored(revision, { revision: '9223372036854775807', outcome: 'applied' }, [
      [['revision'], '9223372036854775807'],
    ]),
  ]);
  const digits = '7'.repeat(400);
  const huge = withMembers('huge-number', `"revision":1,"details":{"huge":${digits}}`);
  accepts(g, 'a 400-digit number in the payload kept digit for digit', utf8(huge.text), [
    stored(huge, undefined, [[['details', 'huge'], digits]]),
  ]);
  const one = make('timestamp-1', { timestamp: '1' });
  accepts(g, 'timestamp "1" is no time (null), not 2001-01-01', utf8(one.text), [
    stored(one, { event_timestamp: null }, [[['timestamp'], '1']]),
  ]);
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'signature';
  const ok = (name: string, signatureOf: (hex: string) => string, headerName?: string) => {
    const built = make('sig-ok');
    const body = utf8(built.text);
    const hex = sign(body);
    const extra: Partial<HttpSend> = headerName
      ? { signature: null, headers: { [headerName]: signatureOf(hex) } }
      : { signature: signatureOf(hex) };
    accepts(g, name, body, [stored(built, ALL_COLUMNS(built))], extra);
  };
  ok('lower-case hex: 200, stored with every column', (hex) => hex);
  ok('upper-case hex: 200, stored', (hex) => hex.toUpperCase());
  ok('mixed-case hex: 200, stored', (hex) => [...hex].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join(''));
  ok('hex with surrounding spaces: 200, stored (HTTP strips them)', (hex) => `   ${hex}  `);
  ok('hex with surrounding tabs: 200, stored (HTTP strips them)', (hex) => `\t${hex}\t`);
  ok('header name in lower case: 200, stored', (hex) => hex, 'x-comapi-signature');
  ok('header name in upper case: 200, stored', (hex) => hex, 'X-COMAPI-SIGNATURE');

  const bad = (name: string, signatureOf: (hex: string, body: Buffer) => string | string[] | null) => {
    const built = make('sig-bad');
    const body = utf8(built.text);
    refuses(
      g,
      `${name}: 401, nothing stored or kept`,
      401,
      post(body, { signature: signatureOf(sign(body), body) }),
      [built.id],
    );
  };
  bad('missing', () => null);
  bad('empty', () => '');
  bad('39 hex digits (one short)', (hex) => hex.slice(0, 39));
  bad('41 hex digits (one too many)', (hex) => `${hex}0`);
  bad('the right digest twice (80 digits)', (hex) => hex + hex);
  bad('one hex digit', () => 'a');
  bad('40 non-hex characters', () => 'g'.repeat(40));
  bad('the right digest with one digit replaced by a non-hex letter', (hex) => `${hex.slice(0, 39)}z`);
  bad('a 0x prefix', (hex) => `0x${hex}`);
  bad('a sha1= prefix (GitHub style)', (hex) => `sha1=${hex}`);
  bad('the base64 of the right digest', (hex) => Buffer.from(hex, 'hex').toString('base64'));
  bad('a space inside the digits', (hex) => `${hex.slice(0, 20)} ${hex.slice(20)}`);
  bad('the HMAC-SHA256 of the body (64 digits)', (_hex, body) => sign(body, TEST_SECRET).padEnd(64, '0'));
  bad('the HMAC of the body with a trailing newline', (_hex, body) =>
    sign(Buffer.concat([body, utf8('\n')])),
  );
  bad('the HMAC under a secret that is not configured', (_hex, body) => sign(body, OTHER_SECRET));
  bad('the HMAC of another body', () => sign('{"eventId":"other","name":"message.sent"}'));
  bad('the right header sent twice', (hex) => [hex, hex]);
  bad('a valid and a bogus header', (hex) => [hex, '0'.repeat(40)]);
  bad('fifty headers', (hex) => Array.from({ length: 50 }, () => hex));
  bad('all zeros', () => '0'.repeat(40));
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'size';
  keepsWhole(g, 'an empty body, signed: 400, kept (empty)', Buffer.alloc(0), /body is empty/);
  refuses(g, 'an empty body, unsigned: 401', 401, post(Buffer.alloc(0), { signature: null }), []);
  keepsWhole(g, 'one byte "{": 400, kept', utf8('{'), /not valid JSON/);
  keepsWhole(g, 'one byte " ": 400, kept', utf8(' '), /not valid JSON/);
  keepsWhole(g, 'one byte "1": 400, kept', utf8('1'), /object .*or an array/);
  keepsWhole(g, 'one byte "[": 400, kept', utf8('['), /not valid JSON/);
  add(g, '"[]": 200 {0,0}, nothing stored or kept', post(utf8('[]')), {
    status: 200,
    answer: { accepted: 0, quarantined: 0 },
    stored: [],
    quarantined: [],
  });
  keepsWhole(g, '"{}": 400, kept', utf8('{}'), /not a well-formed envelope.*eventId/);

  /** A single envelope of exactly `size` bytes (its padding member sized to fit). */
  const ofSize = (tag: string, size: number): Built => {
    const eventId = newId(tag);
    const head = `{"eventId":"${eventId}","name":"message.sent","payload":{"messageId":"m-${eventId}"},"pad":"`;
    const tail = '"}';
    return { id: eventId, text: head + 'p'.repeat(size - head.length - tail.length) + tail };
  };
  for (const [label, size] of [
    ['one byte under BODY_LIMIT', BODY_LIMIT - 1],
    ['exactly BODY_LIMIT', BODY_LIMIT],
  ] as const) {
    const built = ofSize('limit', size);
    accepts(g, `${label} (${size} bytes): 200, stored`, utf8(built.text), [
      stored(built, { outcome: 'untracked', entity_id: `m-${built.id}` }),
    ]);
  }
  for (const [label, size, extra] of [
    ['one byte over BODY_LIMIT, signed', BODY_LIMIT + 1, {}],
    ['one byte over BODY_LIMIT, unsigned (413 before the signature)', BODY_LIMIT + 1, { signature: null }],
    ['one byte over BODY_LIMIT, chunked without Content-Length', BODY_LIMIT + 1, { chunkBytes: 64 * 1024 }],
    ['three times BODY_LIMIT', 3 * BODY_LIMIT, {}],
  ] as const) {
    const built = ofSize('over', size);
    refuses(g, `${label}: 413, nothing stored or kept`, 413, post(utf8(built.text), extra), [built.id]);
  }
  for (const count of [500, 5000]) {
    const items = Array.from({ length: count }, () => make(`batch${count}`));
    accepts(
      g,
      `a ${count.toLocaleString('en')}-envelope batch: 200, every event stored`,
      batchOf(items),
      items.map((item) => stored(item)),
    );
  }
  {
    const items = Array.from({ length: 500 }, (_, i) =>
      i % 2 === 0
        ? make('half')
        : { id: '', text: JSON.stringify({ name: 'message.sent', note: `bad ${i}` }) },
    );
    add(
      g,
      'a 500-item batch, every other item without eventId: 200 {250,250}, each bad item kept alone',
      post(batchOf(items)),
      {
        status: 200,
        answer: { accepted: 250, quarantined: 250 },
        stored: items.filter((_, i) => i % 2 === 0).map((item) => stored(item)),
        quarantined: items
          .map((item, index) => ({ item, index }))
          .filter(({ index }) => index % 2 === 1)
          .map(({ item, index }) => ({ itemIndex: index, reason: /eventId/, body: utf8(item.text) })),
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'encoding';
  for (const [label, text] of [
    ['two-byte UTF-8 (Grüße, ñ)', 'Grüße-ñ'],
    ['three-byte UTF-8 (日本語, ₤)', '日本語-₤'],
    ['four-byte UTF-8 (emoji with a skin tone)', '👋🏽-𝄞'],
    ['right-to-left text (Hebrew, Arabic)', 'שלום-مرحبا'],
    ['a zero-width joiner sequence', '👩‍👩‍👧'],
    ['U+2028 and U+2029 inside strings', 'a\u2028b\u2029c'],
    ['a BOM (U+FEFF) inside a string', 'a\ufeffb'],
    ['a noncharacter (U+FFFF)', 'a\uffffb'],
  ] as const) {
    const built = make('utf8', { payload: { messageId: `m-${text}-${sequence}`, text } });
    const eventId = `${built.id}-${text}`;
    const withId = make('utf8', { eventId, payload: { messageId: `m-${eventId}`, text } });
    accepts(g, `${label} in eventId and payload: 200, stored exactly`, utf8(withId.text), [
      stored(withId, { entity_id: `m-${eventId}` }, [[['payload', 'text'], text]]),
    ]);
  }
  {
    const precomposed = make('nfc', { eventId: `${newId('nfc')}-\u00e9` });
    const decomposed = make('nfd', { eventId: precomposed.id.replace('\u00e9', 'e\u0301') });
    accepts(
      g,
      'é precomposed and é decomposed are two different eventIds (no normalisation)',
      batchOf([precomposed, decomposed]),
      [stored(precomposed), stored(decomposed)],
    );
  }
  {
    const built = handWritten(
      'escaped',
      (eventId) =>
        `{"eventId":"${eventId}-\\u00fc\\u65e5","name":"message.sent","payload":{"t":"\\ud83d\\udc4b"}}`,
    );
    const decoded = { id: `${built.id}-ü日`, text: built.text };
    accepts(g, '\\u escapes (ü, 日, an escaped surrogate pair): 200, stored decoded', utf8(built.text), [
      stored(decoded, { entity_id: null, outcome: 'untracked' }, [[['payload', 't'], '👋']]),
    ]);
  }
  {
    const built = handWritten(
      'ctl',
      (eventId) => `{"eventId":"${eventId}","name":"message.sent","payload":{"t":"a\\u0001b\\tc"}}`,
    );
    accepts(g, 'escaped control characters (\\u0001, \\t): 200, stored', utf8(built.text), [
      stored(built, undefined, [[['payload', 't'], 'a\u0001b\tc']]),
    ]);
  }
  {
    const built = make('ws');
    const body = utf8(`\r\n\t  ${built.text} \n\r\n`);
    accepts(g, 'JSON whitespace around the envelope: 200, the payload is the envelope without it', body, [
      stored(built),
    ]);
  }
  const bom = Buffer.from([0xef, 0xbb, 0xbf]);
  {
    // Decided, and kept as it is today: a UTF-8 BOM is not JSON text (RFC 8259 §8.1 lets a parser
    // ignore it, but JSON.parse does not); the delivery is kept whole with its exact bytes.
    const built = make('bom');
    keepsWhole(
      g,
      'a UTF-8 BOM before the envelope: 400 (not JSON), kept whole with the BOM',
      Buffer.concat([bom, utf8(built.text)]),
      /not valid JSON/,
      [built.id],
    );
    const batch = [make('bom-batch'), make('bom-batch')];
    keepsWhole(
      g,
      'a UTF-8 BOM before a batch: 400, kept whole',
      Buffer.concat([bom, batchOf(batch)]),
      /not valid JSON/,
      batch.map((b) => b.id),
    );
    const after = make('bom-end');
    keepsWhole(
      g,
      'a UTF-8 BOM after the envelope: 400, kept whole',
      Buffer.concat([utf8(after.text), bom]),
      /not valid JSON/,
      [after.id],
    );
    const nbsp = make('nbsp');
    keepsWhole(
      g,
      'a no-break space (U+00A0) before the envelope: 400, kept whole',
      utf8(`\u00a0${nbsp.text}`),
      /not valid JSON/,
      [nbsp.id],
    );
  }
  {
    const built = make('utf16');
    const le = Buffer.from(built.text, 'utf16le');
    keepsWhole(
      g,
      'UTF-16LE with its BOM: 400 (not UTF-8), kept whole',
      Buffer.concat([Buffer.from([0xff, 0xfe]), le]),
      /not valid UTF-8/,
      [built.id],
    );
    keepsWhole(g, 'UTF-16LE without a BOM: 400 (not JSON), kept whole', le, /not valid JSON/, [built.id]);
    const be = Buffer.from(le).swap16();
    keepsWhole(
      g,
      'UTF-16BE with its BOM: 400 (not UTF-8), kept whole',
      Buffer.concat([Buffer.from([0xfe, 0xff]), be]),
      /not valid UTF-8/,
      [built.id],
    );
  }
  for (const [label, bytes] of [
    ['Latin-1 ü (0xFC)', [0xfc]],
    ['0xC3 0x28 (a broken two-byte sequence)', [0xc3, 0x28]],
    ['an overlong "/" (0xC0 0xAF)', [0xc0, 0xaf]],
    ['a UTF-8-encoded surrogate (0xED 0xA0 0x80)', [0xed, 0xa0, 0x80]],
    ['a five-byte sequence (0xF8 …)', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ['a truncated four-byte sequence (0xF0 0x9F 0x91)', [0xf0, 0x9f, 0x91]],
    ['a lone continuation byte (0x80)', [0x80]],
    ['a code point above U+10FFFF (0xF4 0x90 0x80 0x80)', [0xf4, 0x90, 0x80, 0x80]],
  ] as const) {
    const eventId = newId('bad-utf8');
    const body = Buffer.concat([
      utf8(`{"eventId":"${eventId}","name":"message.sent","payload":{"t":"`),
      Buffer.from(bytes),
      utf8('"}}'),
    ]);
    keepsWhole(g, `${label} in a payload string: 400, kept whole`, body, /not valid UTF-8/, [eventId]);
  }
  {
    const good = make('bad-utf8-batch');
    const eventId = newId('bad-utf8-item');
    const body = Buffer.concat([
      utf8(`[${good.text},{"eventId":"${eventId}","name":"x","t":"`),
      Buffer.from([0xff]),
      utf8('"}]'),
    ]);
    keepsWhole(
      g,
      'invalid UTF-8 in one item of a batch: the whole delivery 400, kept whole, no neighbour stored',
      body,
      /not valid UTF-8/,
      [good.id, eventId],
    );
  }
  {
    const built = handWritten(
      'raw-ctl',
      (eventId) => `{"eventId":"${eventId}","name":"message.sent","t":"a\u0001b"}`,
    );
    keepsWhole(
      g,
      'an unescaped control character in a string: 400 (not JSON), kept whole',
      utf8(built.text),
      /not valid JSON/,
      [built.id],
    );
  }
  acceptsButKeeps(
    g,
    'a NUL character (\\u0000) in a single envelope: 200 accepted, kept whole (PostgreSQL text cannot hold it)',
    handWritten(
      'nul',
      (eventId) => `{"eventId":"${eventId}","name":"message.sent","payload":{"t":"a\\u0000b"}}`,
    ),
    /^cannot be stored: .*NUL/,
  );
  acceptsButKeeps(
    g,
    'a lone surrogate (\\ud800) in a single envelope: 200 accepted, kept whole',
    handWritten(
      'surrogate',
      (eventId) => `{"eventId":"${eventId}","name":"message.sent","payload":{"t":"\\ud800"}}`,
    ),
    /^cannot be stored: .*surrogate/,
  );
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'prototype keys';
  const placements: [string, string[]][] = [
    ['at the top of the envelope', []],
    ['in the payload', ['payload']],
    ['three levels down in the payload', ['payload', 'a', 'b', 'c']],
    ['in an object inside an array in the payload', ['payload', 'list', '1']],
  ];
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    for (const [where, at] of placements) {
      const marker = `polluted-${key}-${at.length}`;
      const member = `${JSON.stringify(key)}:{"polluted":"${marker}","eventId":"not-this-one"}`;
      const built = handWritten('proto', (eventId) => {
        const messageId = `"messageId":"m-${eventId}"`;
        switch (at.join('/')) {
          case '':
            return `{"eventId":"${eventId}","name":"message.sent","payload":{${messageId}},"revision":1,${member}}`;
          case 'payload':
            return `{"eventId":"${eventId}","name":"message.sent","payload":{${messageId},${member}},"revision":1}`;
          case 'payload/a/b/c':
            return `{"eventId":"${eventId}","name":"message.sent","payload":{${messageId},"a":{"b":{"c":{${member}}}}},"revision":1}`;
          default:
            return `{"eventId":"${eventId}","name":"message.sent","payload":{${messageId},"list":[1,{${member}},3]},"revision":1}`;
        }
      });
      accepts(g, `"${key}" ${where}: kept as data, stored`, utf8(built.text), [
        stored(built, { entity_id: `m-${built.id}`, outcome: 'applied' }, [
          [[...at, key, 'polluted'], marker],
          [[...at, key, 'eventId'], 'not-this-one'],
        ]),
      ]);
    }
    const item = handWritten(
      'proto-batch',
      (eventId) =>
        `{"eventId":"${eventId}","name":"message.sent",${JSON.stringify(key)}:{"polluted":"batch"}}`,
    );
    const neighbour = make('proto-batch');
    accepts(g, `"${key}" in a batch item: stored, and so is its neighbour`, batchOf([item, neighbour]), [
      stored(item, { entity_id: null, outcome: 'untracked' }, [[[key, 'polluted'], 'batch']]),
      stored(neighbour),
    ]);
  }
  const only = handWritten(
    'proto-only',
    (eventId) => `{"__proto__":{"eventId":"${eventId}","name":"message.sent"}}`,
  );
  keepsWhole(
    g,
    'eventId and name only under "__proto__": 400 (not inherited), kept whole',
    utf8(only.text),
    /eventId/,
    [only.id],
  );
  const asId = make('proto-id', { eventId: `__proto__-${newId('x')}`, name: '__proto__.x' });
  accepts(g, '"__proto__" in eventId and name: stored, entity_type "__proto__"', utf8(asId.text), [
    stored(asId, { name: '__proto__.x', entity_type: '__proto__' }),
  ]);
  const messageId = make('proto-mid', {
    payload: { messageId: '__proto__' },
    apiSpaceId: `constructor-${RUN}`,
  });
  accepts(g, 'messageId "__proto__", apiSpaceId "constructor…": plain text ids', utf8(messageId.text), [
    stored(messageId, { entity_id: '__proto__', api_space_id: `constructor-${RUN}`, outcome: 'applied' }),
  ]);
  const inherited = handWritten(
    'proto-inherit',
    (eventId) =>
      `{"eventId":"${eventId}","name":"message.sent","revision":1,"payload":{"__proto__":{"messageId":"evil"}}}`,
  );
  accepts(g, 'a messageId only under payload.__proto__ is not the entity (untracked)', utf8(inherited.text), [
    stored(inherited, { entity_id: null, outcome: 'untracked' }, [
      [['payload', '__proto__', 'messageId'], 'evil'],
    ]),
  ]);
  const chain = handWritten(
    'proto-chain',
    (eventId) =>
      `{"eventId":"${eventId}","name":"message.sent","payload":{"constructor":{"prototype":{"polluted":"chain"}}}}`,
  );
  accepts(g, 'payload.constructor.prototype.polluted: stored as data', utf8(chain.text), [
    stored(chain, undefined, [[['payload', 'constructor', 'prototype', 'polluted'], 'chain']]),
  ]);
  const builtins = handWritten(
    'proto-builtins',
    (eventId) =>
      `{"eventId":"${eventId}","name":"message.sent","hasOwnProperty":1,"toString":"x","valueOf":null,"payload":{"id":"constructor"},"revision":2}`,
  );
  accepts(
    g,
    'hasOwnProperty, toString, valueOf as members and payload.id "constructor": stored',
    utf8(builtins.text),
    [
      stored(builtins, { entity_id: 'constructor', revision: '2', outcome: 'applied' }, [
        [['toString'], 'x'],
      ]),
    ],
  );
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'duplicate keys (the last one counts, as in JSON.parse and jsonb)';
  const first = newId('dup-first');
  const last = handWritten(
    'dup-id',
    (eventId) => `{"eventId":"${first}","name":"message.sent","eventId":"${eventId}"}`,
  );
  accepts(g, 'eventId twice: stored under the last, never the first', utf8(last.text), [
    stored(last, { name: 'message.sent' }),
  ]);
  cases[cases.length - 1].expect.notStored = [first];
  const dup = (
    tag: string,
    label: string,
    members: string,
    columns: StoredEvent['columns'],
    paths?: StoredEvent['paths'],
  ) => {
    const built = withMembers(tag, members);
    accepts(g, label, utf8(built.text), [stored(built, columns, paths)]);
  };
  dup('dup-name', 'name twice', '"name":"message.read"', { name: 'message.read' });
  dup('dup-rev', 'revision twice (1, then 2)', '"revision":1,"revision":2', { revision: '2' }, [
    [['revision'], '2'],
  ]);
  dup('dup-acc1', 'accountId twice (2^53+1, then 5)', '"accountId":9007199254740993,"accountId":5', {
    account_id: '5',
  });
  dup(
    'dup-acc2',
    'accountId twice (5, then 2^53+1)',
    '"accountId":5,"accountId":9007199254740993',
    { account_id: '9007199254740993' },
    [[['accountId'], '9007199254740993']],
  );
  dup('dup-ts', 'timestamp twice', '"timestamp":"2020-01-01T00:00:00Z"', {
    event_timestamp: '2020-01-01T00:00:00.000Z',
  });
  dup('dup-space', 'apiSpaceId twice', '"apiSpaceId":"space-second"', { api_space_id: 'space-second' });
  {
    const built = handWritten(
      'dup-payload',
      (eventId) =>
        `{"eventId":"${eventId}","name":"message.sent","revision":1,"payload":{"messageId":"first-${eventId}"},"payload":{"messageId":"last-${eventId}"}}`,
    );
    accepts(g, 'payload twice: the entity is the last payload’s', utf8(built.text), [
      stored(built, { entity_id: `last-${built.id}` }),
    ]);
  }
  {
    const built = handWritten(
      'dup-mid',
      (eventId) =>
        `{"eventId":"${eventId}","name":"message.sent","revision":1,"payload":{"messageId":"a-${eventId}","messageId":"b-${eventId}"}}`,
    );
    accepts(g, 'messageId twice in the payload', utf8(built.text), [
      stored(built, { entity_id: `b-${built.id}` }),
    ]);
  }
  {
    const built = withMembers('dup-many', Array.from({ length: 100 }, (_, i) => `"k":${i}`).join(','));
    accepts(g, 'one key 100 times', utf8(built.text), [stored(built, undefined, [[['k'], '99']])]);
  }
  {
    const built = make('dup-batch');
    add(g, 'the same envelope twice in one batch: 200 {2,0}, one row', post(batchOf([built, built])), {
      status: 200,
      answer: { accepted: 2, quarantined: 0 },
      stored: [stored(built)],
      quarantined: [],
    });
  }
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'nesting';
  const nested = (tag: string, open: string, close: string, levels: number) =>
    handWritten(
      tag,
      (eventId) =>
        `{"eventId":"${eventId}","name":"message.sent","payload":{"deep":${open.repeat(levels)}1${close.repeat(levels)}}}`,
    );
  const objects = nested('deep-obj', '{"a":', '}', 1000);
  accepts(g, 'a payload 1,000 objects deep: stored', utf8(objects.text), [stored(objects)]);
  const arrays = nested('deep-arr', '[', ']', 5000);
  accepts(g, 'a payload 5,000 arrays deep: stored', utf8(arrays.text), [stored(arrays)]);
  acceptsButKeeps(
    g,
    'a single envelope 20,000 levels deep: 200 accepted, kept whole (PostgreSQL refuses that depth)',
    nested('deep-20k', '{"a":', '}', 20000),
    /^storage failed: /,
  );
  for (const levels of [10_000, 100_000]) {
    const body = utf8(`[${'['.repeat(levels)}${']'.repeat(levels)}]`);
    add(
      g,
      `a batch whose one item is an array ${levels.toLocaleString('en')} deep: 200 {0,1}, the item kept`,
      post(body),
      {
        status: 200,
        answer: { accepted: 0, quarantined: 1 },
        stored: [],
        quarantined: [{ itemIndex: 0, reason: /not a JSON object/, body: body.subarray(1, -1) }],
      },
    );
  }
  {
    const built = withMembers('wide', Array.from({ length: 10_000 }, (_, i) => `"k${i}":${i}`).join(','));
    accepts(g, 'an envelope with 10,000 members: stored', utf8(built.text), [
      stored(built, undefined, [[['k9999'], '9999']]),
    ]);
  }
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'numbers';
  for (const [label, value] of [
    ['a number (123)', '123'],
    ['a fraction (1.5)', '1.5'],
    ['negative (-1)', '-1'],
    ['zero', '0'],
    ['true', 'true'],
    ['null', 'null'],
    ['an array', '["e"]'],
    ['an object', '{"id":"e"}'],
    ['the empty string', '""'],
  ] as const) {
    keepsWhole(
      g,
      `eventId ${label}: 400, kept whole`,
      utf8(`{"eventId":${value},"name":"message.sent","marker":"${newId('n')}"}`),
      /eventId/,
    );
  }
  keepsWhole(g, 'name a number: 400, kept whole', utf8(`{"eventId":"${newId('name-n')}","name":42}`), /name/);
  keepsWhole(
    g,
    'name the empty string: 400, kept whole',
    utf8(`{"eventId":"${newId('name-e')}","name":""}`),
    /name/,
  );
  {
    const good = make('n-batch');
    const bad = `{"eventId":${Date.now()},"name":"message.sent"}`;
    add(
      g,
      'a numeric eventId in a batch: 200 {1,1}, the item kept with its index',
      post(utf8(`[${bad},${good.text}]`)),
      {
        status: 200,
        answer: { accepted: 1, quarantined: 1 },
        stored: [stored(good)],
        quarantined: [{ itemIndex: 0, reason: /eventId/, body: utf8(bad) }],
      },
    );
  }
  const column = (
    tag: string,
    label: string,
    members: string,
    columns: StoredEvent['columns'],
    paths?: StoredEvent['paths'],
  ) => {
    const built = withMembers(tag, members);
    accepts(g, label, utf8(built.text), [stored(built, columns, paths)]);
  };
  column('acc-min', 'accountId -2^63: exact', '"accountId":-9223372036854775808', {
    account_id: '-9223372036854775808',
  });
  column(
    'acc-2p63',
    'accountId 2^63 (beyond bigint): null, every digit in the payload',
    '"accountId":9223372036854775808',
    { account_id: null },
    [[['accountId'], '9223372036854775808']],
  );
  column(
    'acc-400',
    'accountId of 400 digits: null, kept in the payload',
    `"accountId":${'9'.repeat(400)}`,
    { account_id: null },
    [[['accountId'], '9'.repeat(400)]],
  );
  column('acc-frac', 'accountId 1.5: null', '"accountId":1.5', { account_id: null }, [
    [['accountId'], '1.5'],
  ]);
  column('acc-str', 'accountId "40213" (a string): null', '"accountId":"40213"', { account_id: null }, [
    [['accountId'], '40213'],
  ]);
  column('acc-1e3', 'accountId 1e3: 1000', '"accountId":1e3', { account_id: '1000' });
  column('acc-1.0', 'accountId 1.0: 1', '"accountId":1.0', { account_id: '1' });
  column('acc-neg0', 'accountId -0: 0', '"accountId":-0', { account_id: '0' });
  column('rev-2p53', 'revision 2^53+1: exact, applied', '"revision":9007199254740993', {
    revision: '9007199254740993',
    outcome: 'applied',
  });
  column(
    'rev-2p63',
    'revision 2^63 (beyond bigint): null, untracked, digits in the payload',
    '"revision":9223372036854775808',
    { revision: null, outcome: 'untracked' },
    [[['revision'], '9223372036854775808']],
  );
  column(
    'rev-1e400',
    'revision 1e400: null, untracked, kept in the payload',
    '"revision":1e400',
    { revision: null, outcome: 'untracked' },
    [[['revision'], `1${'0'.repeat(400)}`]],
  );
  column('rev-neg', 'revision -1: -1, applied', '"revision":-1', { revision: '-1', outcome: 'applied' });
  column('rev-2.0', 'revision 2.0: 2, applied', '"revision":2.0', { revision: '2', outcome: 'applied' });
  column('rev-str', 'revision "3" (a string): null, untracked', '"revision":"3"', {
    revision: null,
    outcome: 'untracked',
  });
  column('rev-1e2', 'revision 1E+2: 100', '"revision":1E+2', { revision: '100', outcome: 'applied' });
  column(
    'pl-frac',
    'a 34-digit fraction in the payload: exact',
    '"revision":1,"x":0.1000000000000000055511151231257827',
    undefined,
    [[['x'], '0.1000000000000000055511151231257827']],
  );
  column('pl-tiny', '1e-400 in the payload: exact (not 0)', '"revision":1,"x":1e-400', undefined, [
    [['x'], `0.${'0'.repeat(399)}1`],
  ]);
  column(
    'pl-long',
    'a 30-digit integer with a 9-digit fraction in the payload: exact',
    '"revision":1,"x":123456789012345678901234567890.123456789',
    undefined,
    [[['x'], '123456789012345678901234567890.123456789']],
  );
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'timestamps (strict ISO 8601)';
  for (const [label, value, expected] of [
    ['an epoch number', 1763630774801, null],
    ['the basic format 20261120T092614Z', '20261120T092614Z', null],
    ['a bare date', '2026-11-20', null],
    ['an offset +01:00', '2026-11-20T10:26:14+01:00', '2026-11-20T09:26:14.000Z'],
    ['nanoseconds', '2026-11-20T09:26:14.123456789Z', '2026-11-20T09:26:14.123Z'],
    ['year 0001', '0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
    ['the last millisecond of 9999', '9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
    ['29 February of a leap year', '2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
    ['29 February of another year', '2025-02-29T12:00:00Z', null],
    ['null', null, null],
    ['the empty string', '', null],
    ['a trailing space', '2026-11-20T09:26:14Z ', null],
  ] as const) {
    const built = make('ts', { timestamp: value });
    accepts(g, `timestamp ${label}: ${expected ?? 'null'}`, utf8(built.text), [
      stored(built, { event_timestamp: expected }),
    ]);
  }
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'payloads and names';
  for (const [label, payload] of [
    ['an empty array', []],
    ['an array holding a messageId', [{ messageId: 'in-an-array' }]],
    ['a string', 'm-string'],
    ['a number', 42],
    ['null', null],
    ['missing', undefined],
  ] as const) {
    const built = make('payload', { payload });
    accepts(g, `payload ${label}: stored, no entity (untracked)`, utf8(built.text), [
      stored(built, { entity_id: null, outcome: 'untracked' }),
    ]);
  }
  const numeric = make('mid-num', { payload: { messageId: 12345678 } });
  accepts(g, 'a numeric messageId: the entity id is its text', utf8(numeric.text), [
    stored(numeric, { entity_id: '12345678' }),
  ]);
  for (const [label, name, entityType] of [
    ['an unknown family with four parts', 'zz.unknown.deep.name', 'zz'],
    ['no dot', 'nodot', 'nodot'],
    ['a leading dot', '.leading', ''],
    ['a trailing dot', 'trailing.', 'trailing'],
    ['CJK', '消息.已读', '消息'],
    ['surrounding spaces', ' message.sent ', ' message'],
    [
      '512 bytes (the longest that can be indexed; over AMQP’s 255 for a routing key)',
      `x.${'n'.repeat(510)}`,
      'x',
    ],
  ] as const) {
    const built = make('name', { name });
    accepts(g, `name with ${label}: stored as is`, utf8(built.text), [
      stored(built, { name, entity_type: entityType }),
    ]);
  }
  const longId = make('long-id', { eventId: `${newId('long-id')}-${'i'.repeat(400)}` });
  accepts(
    g,
    'an eventId of 400+ bytes (over AMQP’s 255 for a message id): stored, and on the feed',
    utf8(longId.text),
    [stored(longId)],
  );
  acceptsButKeeps(
    g,
    'name of 513 bytes: 200 accepted, kept whole (too long to index)',
    make('name', { name: `x.${'n'.repeat(511)}` }),
    /^cannot be stored: name is 513 bytes/,
  );
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'JSON syntax';
  for (const [label, text] of [
    ['a trailing comma', (id: string) => `{"eventId":"${id}","name":"message.sent",}`],
    ['a comment', (id: string) => `{"eventId":"${id}","name":"message.sent" /* hi */}`],
    ['NaN', (id: string) => `{"eventId":"${id}","name":"message.sent","revision":NaN}`],
    ['Infinity', (id: string) => `{"eventId":"${id}","name":"message.sent","revision":Infinity}`],
    ['single quotes', (id: string) => `{'eventId':'${id}','name':'message.sent'}`],
    ['unquoted keys', (id: string) => `{eventId:"${id}",name:"message.sent"}`],
    [
      'two objects back to back',
      (id: string) => `{"eventId":"${id}","name":"message.sent"}{"eventId":"${id}-2","name":"x"}`,
    ],
    ['an object followed by text', (id: string) => `{"eventId":"${id}","name":"message.sent"} trailing`],
    ['XML', (id: string) => `<event><eventId>${id}</eventId></event>`],
    ['form-encoded fields', (id: string) => `eventId=${id}&name=message.sent`],
    ['a leading zero', (id: string) => `{"eventId":"${id}","name":"message.sent","revision":01}`],
    ['a hex number', (id: string) => `{"eventId":"${id}","name":"message.sent","revision":0x10}`],
  ] as const) {
    const id = newId('syntax');
    keepsWhole(g, `${label}: 400, kept whole`, utf8(text(id)), /not valid JSON/, [id]);
  }
  for (const [label, text] of [
    ['null', 'null'],
    ['true', 'true'],
    ['a string', '"message.sent"'],
    ['a number', '42'],
  ] as const)
    keepsWhole(g, `JSON ${label} as the body: 400, kept whole`, utf8(text), /object .*or an array/);
  for (const [label, items, reasons] of [
    ['[null]', ['null'], [/not a JSON object/]],
    ['[[]]', ['[]'], [/not a JSON object/]],
    ['[1,"x",{}]', ['1', '"x"', '{}'], [/not a JSON object/, /not a JSON object/, /eventId/]],
  ] as const) {
    const body = utf8(`[${items.join(',')}]`);
    add(g, `the batch ${label}: 200 {0,${items.length}}, each item kept with its index`, post(body), {
      status: 200,
      answer: { accepted: 0, quarantined: items.length },
      stored: [],
      quarantined: items.map((item, index) => ({
        itemIndex: index,
        reason: reasons[index],
        body: utf8(item),
      })),
    });
  }
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'transport';
  const chunked = make('chunked');
  accepts(
    g,
    'chunked transfer encoding in 64-byte chunks: 200, stored',
    utf8(chunked.text),
    [stored(chunked)],
    { chunkBytes: 64 },
  );
  const tiny = make('chunked1');
  accepts(g, 'chunked transfer encoding in 1-byte chunks: 200, stored', utf8(tiny.text), [stored(tiny)], {
    chunkBytes: 1,
  });
  const cont = make('continue');
  accepts(g, 'Expect: 100-continue: 100 Continue, then 200, stored', utf8(cont.text), [stored(cont)], {
    expectContinue: true,
  });
  for (const [label, contentType] of [
    ['no Content-Type', null],
    ['text/plain', 'text/plain'],
    ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded'],
    ['multipart/form-data', 'multipart/form-data; boundary=xyz'],
    ['application/octet-stream', 'application/octet-stream'],
    ['application/json; charset=latin1 (still read as the bytes sent)', 'application/json; charset=latin1'],
    ['a malformed Content-Type', ';;;=/'],
  ] as const) {
    const built = make('ctype', { payload: { messageId: `m-ctype-${sequence}`, text: 'Grüße' } });
    accepts(g, `${label}: raw bytes, 200, stored`, utf8(built.text), [stored(built)], { contentType });
  }
  {
    const built = make('gzip');
    const body = gzipSync(utf8(built.text));
    add(
      g,
      'a gzip body (Content-Encoding: gzip) signed as sent: the bytes are not decoded, 400, kept whole',
      post(body, { headers: { 'Content-Encoding': 'gzip' } }),
      {
        status: 400,
        message: /not valid UTF-8/,
        stored: [],
        quarantined: [{ itemIndex: null, reason: /not valid UTF-8/, body }],
        notStored: [built.id],
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Raw bytes on a socket, sent to the built service in a child process.
const head = (requestLine: string, headers: string[]) =>
  `${requestLine}\r\n${['Host: corpus', ...headers].join('\r\n')}\r\n\r\n`;
/** A complete signed POST (`Connection: close` when `last`). */
function rawPost(
  body: Buffer,
  { path = '/webhook', last = true, signature = sign(body), extra = [] as string[] } = {},
): Buffer {
  const headers = [`X-Comapi-Signature: ${signature}`, `Content-Length: ${body.length}`, ...extra];
  if (last) headers.push('Connection: close');
  return Buffer.concat([utf8(head(`POST ${path} HTTP/1.1`, headers)), body]);
}
{
  const g = 'raw HTTP';
  const raw = (name: string, bytes: Buffer, expect: Expectation) =>
    add(g, name, { kind: 'raw', bytes }, expect, 'service');
  {
    const [a, b] = [make('pipe'), make('pipe')];
    raw(
      'two signed POSTs pipelined on one connection: 200, 200 in order, both stored',
      Buffer.concat([rawPost(utf8(a.text), { last: false }), rawPost(utf8(b.text))]),
      {
        status: [200, 200],
        stored: [stored(a), stored(b)],
        quarantined: [],
      },
    );
  }
  {
    const [a, b] = [make('pipe-bad'), make('pipe-bad')];
    raw(
      'a good and a badly signed POST pipelined: 200, then 401; only the first stored',
      Buffer.concat([
        rawPost(utf8(a.text), { last: false }),
        rawPost(utf8(b.text), { signature: '0'.repeat(40) }),
      ]),
      { status: [200, 401], stored: [stored(a)], quarantined: [], notStored: [b.id] },
    );
  }
  {
    const a = make('pipe-mixed');
    raw(
      'GET /health/live, a POST and GET /webhook pipelined: 200, 200, 200',
      Buffer.concat([
        utf8(head('GET /health/live HTTP/1.1', [])),
        rawPost(utf8(a.text), { last: false }),
        utf8(head('GET /webhook HTTP/1.1', ['Connection: close'])),
      ]),
      { status: [200, 200, 200], stored: [stored(a)], quarantined: [] },
    );
  }
  {
    const a = make('raw-chunk-ext');
    const body = utf8(a.text);
    const half = Math.floor(body.length / 2);
    const chunk = (part: Buffer, ext = '') =>
      Buffer.concat([utf8(`${part.length.toString(16)}${ext}\r\n`), part, utf8('\r\n')]);
    raw(
      'chunked with chunk extensions and a trailer: 200, stored',
      Buffer.concat([
        utf8(
          head('POST /webhook HTTP/1.1', [
            `X-Comapi-Signature: ${sign(body)}`,
            'Transfer-Encoding: chunked',
            'Connection: close',
          ]),
        ),
        chunk(body.subarray(0, half), ';name=value'),
        chunk(body.subarray(half)),
        utf8('0\r\nX-Trailer: t\r\n\r\n'),
      ]),
      { status: [200], stored: [stored(a)], quarantined: [] },
    );
  }
  {
    const a = make('smuggle');
    const body = utf8(a.text);
    raw(
      'Content-Length and Transfer-Encoding together: 400, closed, nothing stored',
      rawPost(body, { extra: ['Transfer-Encoding: chunked'] }),
      {
        status: [400],
        closes: true,
        stored: [],
        quarantined: [],
        notStored: [a.id],
      },
    );
  }
  {
    const a = make('two-cl');
    const body = utf8(a.text);
    raw(
      'two different Content-Length headers: 400, closed, nothing stored',
      rawPost(body, { extra: [`Content-Length: ${body.length - 1}`] }),
      {
        status: [400],
        closes: true,
        stored: [],
        quarantined: [],
        notStored: [a.id],
      },
    );
  }
  {
    const a = make('short-cl');
    const body = utf8(a.text);
    const bytes = Buffer.concat([
      utf8(
        head('POST /webhook HTTP/1.1', [
          `X-Comapi-Signature: ${sign(body)}`,
          `Content-Length: ${body.length - 10}`,
        ]),
      ),
      body,
    ]);
    raw(
      'a Content-Length 10 bytes short: the 10 bytes left are a bad request (400, closed); nothing stored',
      bytes,
      {
        status: [400],
        closes: true,
        stored: [],
        quarantined: [],
        notStored: [a.id],
      },
    );
  }
  {
    const a = make('http10');
    const body = utf8(a.text);
    raw(
      'HTTP/1.0 without Host: 200, stored',
      Buffer.concat([
        utf8(
          `POST /webhook HTTP/1.0\r\nX-Comapi-Signature: ${sign(body)}\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body,
      ]),
      { status: [200], stored: [stored(a)], quarantined: [] },
    );
  }
  {
    const a = make('nohost');
    const body = utf8(a.text);
    raw(
      'HTTP/1.1 without Host: 400, nothing stored',
      Buffer.concat([
        utf8(
          `POST /webhook HTTP/1.1\r\nX-Comapi-Signature: ${sign(body)}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        ),
        body,
      ]),
      { status: [400], stored: [], quarantined: [], notStored: [a.id] },
    );
  }
  for (const [label, path] of [
    ['an absolute-form target (http://host/webhook)', 'http://corpus/webhook'],
    ['a fragment (/webhook#x)', '/webhook#x'],
  ] as const) {
    const a = make('target');
    raw(`${label}: 200, stored`, rawPost(utf8(a.text), { path }), {
      status: [200],
      stored: [stored(a)],
      quarantined: [],
    });
  }
  for (const [label, path] of [
    ['/webhook/../webhook (not normalised)', '/webhook/../webhook'],
    ['/./webhook', '/./webhook'],
    ['/webhook%0d%0aX-Injected:%201 (encoded CR/LF in the path)', '/webhook%0d%0aX-Injected:%201'],
  ] as const) {
    const a = make('dots');
    raw(`POST ${label}: 404, nothing stored`, rawPost(utf8(a.text), { path }), {
      status: [404],
      stored: [],
      quarantined: [],
      notStored: [a.id],
    });
  }
  for (const [label, method, status] of [
    ['CONNECT: closed without an answer', 'CONNECT', []],
    ['an unknown method FOO: 400', 'FOO', [400]],
    ['a lower-case method "post": 400', 'post', [400]],
  ] as const) {
    const a = make('method');
    const body = utf8(a.text);
    raw(
      `${label}, nothing stored`,
      Buffer.concat([
        utf8(
          head(`${method} /webhook HTTP/1.1`, [
            `X-Comapi-Signature: ${sign(body)}`,
            `Content-Length: ${body.length}`,
          ]),
        ),
        body,
      ]),
      {
        status: [...status],
        closes: true,
        stored: [],
        quarantined: [],
        notStored: [a.id],
      },
    );
  }
  // Header tricks: each is refused by the HTTP parser before the application sees it.
  for (const [label, header] of [
    ['a bare CR inside a header value', 'X-Trick: a\rX-Comapi-Signature: 0'],
    ['a bare LF ending a header line', 'X-Trick: a\nX-Other: b'],
    ['an obsolete folded header line', 'X-Trick: a\r\n folded'],
    ['a NUL byte in a header value', 'X-Trick: a\u0000b'],
    ['a space before the colon', 'X-Comapi-Signature : 0'],
    ['a header name with a bracket', 'X-Tr[ck: a'],
  ] as const) {
    const a = make('crlf');
    raw(`${label}: 400, closed, nothing stored`, rawPost(utf8(a.text), { extra: [header] }), {
      status: [400],
      closes: true,
      stored: [],
      quarantined: [],
      notStored: [a.id],
    });
  }
  for (const [label, extra] of [
    ['a 20 KB header', [`X-Huge: ${'h'.repeat(20_000)}`]],
    ['a 20 KB signature header', [`X-Comapi-Signature: ${'a'.repeat(20_000)}`]],
    ['3,000 small headers', Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`)],
  ] as const) {
    const a = make('huge');
    raw(`${label}: 431, closed, never a crash`, rawPost(utf8(a.text), { extra: [...extra] }), {
      status: [431],
      closes: true,
      stored: [],
      quarantined: [],
      notStored: [a.id],
    });
  }
  {
    const a = make('big-header');
    raw(
      'a 15 KB header (under the 16 KB limit): 200, stored',
      rawPost(utf8(a.text), { extra: [`X-Big: ${'b'.repeat(15_000)}`] }),
      {
        status: [200],
        stored: [stored(a)],
        quarantined: [],
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------
{
  const g = 'methods and paths';
  for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
    const built = make('method');
    add(
      g,
      `${method} /webhook with a signed envelope: 404 JSON, never 5xx, nothing stored`,
      post(utf8(built.text), { method }),
      {
        status: 404,
        message: new RegExp(`Cannot ${method} /webhook`),
        stored: [],
        quarantined: [],
        notStored: [built.id],
      },
    );
  }
  add(
    g,
    'HEAD /webhook: 200 text/html, no body',
    { kind: 'http', method: 'HEAD', signature: null, contentType: null },
    {
      status: 200,
      html: true,
      stored: [],
      quarantined: [],
    },
  );
  for (const path of ['/webhook', '/webhook?x=1', '/webhook/']) {
    add(
      g,
      `GET ${path}: 200, the test page`,
      { kind: 'http', method: 'GET', path, signature: null, contentType: null },
      {
        status: 200,
        html: true,
        stored: [],
        quarantined: [],
      },
    );
  }
  for (const [label, path] of [
    ['a trailing slash', '/webhook/'],
    ['upper case', '/WEBHOOK'],
    ['mixed case and a trailing slash', '/Webhook/'],
    ['a query string', '/webhook?x=1'],
    ['a query string naming an eventId (ignored)', '/webhook?eventId=evil&x=1&x=2'],
  ] as const) {
    const built = make('path');
    accepts(g, `POST with ${label} (${path}): 200, stored`, utf8(built.text), [stored(built)], { path });
  }
  for (const path of [
    '/webhook/extra',
    '/webhooks',
    '/webhook.json',
    '/webhook//',
    '/webhook;x',
    '/webhook%2F',
    '/%77ebhook',
    '/api/webhook',
  ]) {
    const built = make('path404');
    refuses(g, `POST ${path}: 404, nothing stored`, 404, post(utf8(built.text), { path }), [built.id]);
  }
}

// ---------------------------------------------------------------------------------------------
// What the log may show, and conflicts (logged): the built service with LOG_LEVEL=info.
export const TOKEN = `tok-${RUN}-do-not-log`;
{
  const g = 'logs';
  const built = make('token');
  add(
    g,
    'POST /webhook?token=…: 200, stored; the log line shows /webhook without the query',
    post(utf8(built.text), { path: `/webhook?token=${TOKEN}` }),
    {
      status: 200,
      answer: { accepted: 1, quarantined: 0 },
      stored: [stored(built)],
      quarantined: [],
      notLogged: [TOKEN],
      loggedUrl: '/webhook',
    },
    'service',
  );
  const unsigned = make('token-401');
  add(
    g,
    'POST /webhook?token=… badly signed: 401; the token is not logged',
    post(utf8(unsigned.text), { path: `/webhook?token=${TOKEN}`, signature: '0'.repeat(40) }),
    {
      status: 401,
      stored: [],
      quarantined: [],
      notStored: [unsigned.id],
      notLogged: [TOKEN],
      loggedUrl: '/webhook',
    },
    'service',
  );
  const bad = make('token-400');
  const badBody = utf8(`${bad.text}garbage`);
  add(
    g,
    'POST /webhook?token=… not JSON: 400, kept; the token is not logged',
    post(badBody, { path: `/webhook?token=${TOKEN}` }),
    {
      status: 400,
      stored: [],
      quarantined: [{ itemIndex: null, reason: /not valid JSON/, body: badBody }],
      notStored: [bad.id],
      notLogged: [TOKEN],
      loggedUrl: '/webhook',
    },
    'service',
  );
  const put = make('token-404');
  add(
    g,
    'PUT /webhook?token=…: 404; the token is not logged',
    post(utf8(put.text), { method: 'PUT', path: `/webhook?token=${TOKEN}` }),
    {
      status: 404,
      stored: [],
      quarantined: [],
      notStored: [put.id],
      notLogged: [TOKEN],
    },
    'service',
  );
  add(
    g,
    'GET /health?token=…: 200; the token is not logged',
    { kind: 'http', method: 'GET', path: `/health?token=${TOKEN}`, signature: null, contentType: null },
    {
      status: 200,
      stored: [],
      quarantined: [],
      notLogged: [TOKEN],
    },
    'service',
  );

  // An eventId repeated with other content: the first stays, the repeat is counted and logged.
  const first = make('conflict');
  const other = make('conflict', {
    eventId: first.id,
    name: 'message.read',
    payload: { messageId: 'someone-else' },
  });
  add(
    g,
    'an eventId, first time: 200, stored',
    post(utf8(first.text)),
    { status: 200, stored: [stored(first, { name: 'message.sent' })], quarantined: [] },
    'service',
  );
  add(
    g,
    'the same eventId with other content: 200, not stored again, counted and logged as a conflict',
    post(utf8(other.text)),
    {
      status: 200,
      answer: { accepted: 1, quarantined: 0 },
      stored: [],
      quarantined: [],
      conflicts: [{ eventId: first.id, keeps: first.text }],
    },
    'service',
  );
}

export const CORPUS: readonly CorpusCase[] = cases;
