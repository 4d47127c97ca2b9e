import {
  bigintOf,
  entityIdOf,
  entityTypeOf,
  textOf,
  timestampOf,
  trackedEntityOf,
  type Envelope,
} from './envelope';

const envelope = (fields: Partial<Envelope> = {}): Envelope => ({
  eventId: 'e-1',
  name: 'message.sent',
  ...fields,
});

describe('entityIdOf', () => {
  it('reads payload.messageId first', () => {
    expect(entityIdOf(envelope({ payload: { messageId: 'm-1', id: 'other' } }))).toBe('m-1');
  });

  it('falls back to payload.id (older contracts, profile events)', () => {
    expect(entityIdOf(envelope({ payload: { id: 'someone@example.com' } }))).toBe('someone@example.com');
  });

  it('falls back to payload.id when messageId is empty, null or not an id', () => {
    for (const messageId of ['', null, {}, [], true])
      expect(entityIdOf(envelope({ payload: { messageId, id: 'p-1' } }))).toBe('p-1');
  });

  it('reads numeric ids as text', () => {
    expect(entityIdOf(envelope({ payload: { messageId: 123 } }))).toBe('123');
    expect(entityIdOf(envelope({ payload: { id: 7 } }))).toBe('7');
  });

  it('is null when the payload names no entity', () => {
    expect(entityIdOf(envelope({ payload: { other: 'x' } }))).toBeNull();
    expect(entityIdOf(envelope({ payload: { messageId: '', id: '' } }))).toBeNull();
    expect(entityIdOf(envelope({ payload: { id: Number.NaN } }))).toBeNull();
  });

  it('is null when there is no payload object', () => {
    for (const payload of [undefined, null, 'm-1', 5, [{ messageId: 'm-1' }]])
      expect(entityIdOf(envelope({ payload }))).toBeNull();
  });

  it('ignores a messageId outside the payload', () => {
    expect(entityIdOf(envelope({ messageId: 'm-top', payload: {} }))).toBeNull();
  });
});

describe('entityIdOf: the rule over every family of DESIGN §1', () => {
  // Shapes as Dotdigital documents them (test/fixtures/real/ holds the whole envelopes).
  const families: [string, Partial<Envelope>, string, string | null][] = [
    ['message.*', { name: 'message.sent', payload: { id: 'e9f154c8', details: {} } }, 'message', 'e9f154c8'],
    [
      'message.* (undocumented messageId first)',
      { name: 'message.read', payload: { messageId: 'm-1', id: 'x' } },
      'message',
      'm-1',
    ],
    [
      'interaction.click',
      { name: 'interaction.click', payload: { id: 'msg-7', url: 'https://example.com/' } },
      'interaction',
      'msg-7',
    ],
    [
      'profile.*',
      { name: 'profile.update', payload: { id: 'joe.blogs@acme.com', name: 'Joe' } },
      'profile',
      'joe.blogs@acme.com',
    ],
    [
      'conversation.*',
      {
        name: 'conversation.participantAdded',
        payload: { profileId: 'joe.blogs@acme.com', role: 'owner', id: 'acme_conv_1' },
      },
      'conversation',
      'acme_conv_1',
    ],
    [
      'conversationMessage.*',
      {
        name: 'conversationMessage.sent',
        payload: { context: { conversationId: 'c-1' }, id: '61320b34', conversationEventId: 6 },
      },
      'conversationMessage',
      '61320b34',
    ],
    [
      'chat.*',
      { name: 'chat.create', payload: { participants: [{ profileId: 'anon_1' }], id: '8b4e7f49' } },
      'chat',
      '8b4e7f49',
    ],
    [
      'chatMessage.*',
      { name: 'chatMessage.sent', payload: { context: { chatId: 'bef906ab' }, id: '3f48daab' } },
      'chatMessage',
      '3f48daab',
    ],
    [
      'presence.* (no payload: the top-level profileId)',
      { name: 'presence.available', profileId: 'PLATFORMUSER\\joe.blogs@acme.com' },
      'presence',
      'PLATFORMUSER\\joe.blogs@acme.com',
    ],
    [
      'facebook.* (payload.profileId)',
      { name: 'facebook.optin', payload: { fbMessengerId: '1924', profileId: 'joe.blogs@acme.com' } },
      'facebook',
      'joe.blogs@acme.com',
    ],
    ['an unknown name', { name: 'parcel.delivered', payload: { id: 'p-9' } }, 'parcel', 'p-9'],
    [
      'an unknown name that names no entity',
      { name: 'account.suspended', payload: { reason: 'x' } },
      'account',
      null,
    ],
  ];

  it.each(families)('%s', (_family, fields, entityType, entityId) => {
    const event = envelope(fields);
    expect(entityTypeOf(event.name)).toBe(entityType);
    expect(entityIdOf(event)).toBe(entityId);
  });

  it('takes each source in order: messageId, id, payload.profileId, top-level profileId', () => {
    const all = { messageId: 'a', id: 'b', profileId: 'c' };
    expect(entityIdOf(envelope({ payload: all, profileId: 'd' }))).toBe('a');
    expect(entityIdOf(envelope({ payload: { id: 'b', profileId: 'c' }, profileId: 'd' }))).toBe('b');
    expect(entityIdOf(envelope({ payload: { profileId: 'c' }, profileId: 'd' }))).toBe('c');
    expect(entityIdOf(envelope({ payload: {}, profileId: 'd' }))).toBe('d');
    expect(entityIdOf(envelope({ payload: null, profileId: 'd' }))).toBe('d');
  });

  it('skips a source that is empty or not an id, and never reads a prototype', () => {
    expect(entityIdOf(envelope({ payload: { id: '', profileId: { x: 1 } }, profileId: 'd' }))).toBe('d');
    expect(entityIdOf(envelope({ profileId: '' }))).toBeNull();
    expect(
      entityIdOf(envelope({ payload: JSON.parse('{"__proto__":{"id":"evil"}}') as unknown })),
    ).toBeNull();
  });
});

describe('entityTypeOf', () => {
  it.each([
    ['message.read', 'message'],
    ['interaction.click', 'interaction'],
    ['profile.update', 'profile'],
    ['chat.conversation.created', 'chat'],
    ['nodot', 'nodot'],
    ['.leading', ''],
  ])('reads %s as %s', (name, type) => {
    expect(entityTypeOf(name)).toBe(type);
  });
});

describe('bigintOf (revision, accountId)', () => {
  const noText = () => null;

  it.each([0, 1, 3, 2 ** 40, Number.MAX_SAFE_INTEGER, -1])('accepts the integer %p', (revision) => {
    expect(bigintOf(revision, noText)).toBe(BigInt(revision));
  });

  it.each([1.5, '3', null, undefined, Number.NaN, Infinity, 2 ** 64, true, {}])('rejects %p', (revision) => {
    expect(bigintOf(revision, () => JSON.stringify(revision) ?? null)).toBeNull();
  });

  it('reads an integer beyond 2^53 from its exact text, every digit kept', () => {
    // What JSON.parse makes of 9007199254740993: the nearest double, 9007199254740992.
    expect(bigintOf(Number('9007199254740993'), () => '9007199254740993')).toBe(9007199254740993n);
    expect(bigintOf(2 ** 63 - 1, () => '9223372036854775807')).toBe(9223372036854775807n);
  });

  it('rejects what does not fit bigint, and non-integers written with an exponent', () => {
    expect(bigintOf(2 ** 63, () => '9223372036854775808')).toBeNull();
    expect(bigintOf(Number('1e400'), () => '1e400')).toBeNull();
    expect(bigintOf(1e20, () => '1e20')).toBeNull();
  });

  it('reads an integer account id, nothing else', () => {
    expect(bigintOf(40213, noText)).toBe(40213n);
    expect(bigintOf('40213', () => '"40213"')).toBeNull();
    expect(bigintOf(undefined, noText)).toBeNull();
  });
});

describe('timestampOf', () => {
  it('parses an ISO 8601 UTC timestamp exactly', () => {
    expect(timestampOf('2026-11-20T09:26:14.801Z')?.time.toISOString()).toBe('2026-11-20T09:26:14.801Z');
  });

  it('honours an offset', () => {
    expect(timestampOf('2026-11-20T10:26:14+01:00')?.time.toISOString()).toBe('2026-11-20T09:26:14.000Z');
    expect(timestampOf('2026-11-20T10:26:14+0100')?.text).toBe('2026-11-20T10:26:14+01:00');
  });

  it('keeps microseconds for PostgreSQL and reads a missing zone as UTC', () => {
    expect(timestampOf('2026-11-20T09:26:14.123456789Z')?.text).toBe('2026-11-20T09:26:14.123456Z');
    expect(timestampOf('2026-11-20T09:26')?.time.toISOString()).toBe('2026-11-20T09:26:00.000Z');
  });

  it.each([
    ['not a date'],
    [''],
    [1763630774801],
    [null],
    [undefined],
    [{}],
    ['1'],
    ['2026'],
    ['2026-11-20'],
    ['0000-01-01T00:00:00Z'],
    ['99999-01-01T00:00:00Z'],
    ['2026-02-30T00:00:00Z'],
    ['2025-02-29T00:00:00Z'],
    ['2026-13-01T00:00:00Z'],
    ['2026-11-20T24:00:00Z'],
    ['2026-11-20T09:60:00Z'],
    ['2026-11-20T09:26:14+15:00'],
    ['Fri, 20 Nov 2026 09:26:14 GMT'],
    [' 2026-11-20T09:26:14Z'],
  ])('is null for %p (strict ISO 8601, never a guess)', (timestamp) => {
    expect(timestampOf(timestamp)).toBeNull();
  });

  it('accepts 29 February of a leap year and the years 0001 and 9999', () => {
    expect(timestampOf('2024-02-29T00:00:00Z')).not.toBeNull();
    expect(timestampOf('0001-01-01T00:00:00Z')?.time.toISOString()).toBe('0001-01-01T00:00:00.000Z');
    expect(timestampOf('9999-12-31T23:59:59.999Z')).not.toBeNull();
  });
});

describe('textOf', () => {
  it('keeps strings and drops anything else', () => {
    expect(textOf('space')).toBe('space');
    expect(textOf('')).toBe('');
    expect(textOf(12)).toBeNull();
    expect(textOf(undefined)).toBeNull();
  });
});

describe('trackedEntityOf', () => {
  it('keys an event by api space, entity type and entity id, with its revision', () => {
    expect(
      trackedEntityOf(
        envelope({ name: 'message.read', apiSpaceId: 'space-1', payload: { messageId: 'm-1' } }),
        3n,
      ),
    ).toEqual({ key: { apiSpaceId: 'space-1', entityType: 'message', entityId: 'm-1' }, revision: 3n });
  });

  it('uses the empty string for a missing api space', () => {
    expect(trackedEntityOf(envelope({ payload: { id: 'p' } }), 1n)?.key.apiSpaceId).toBe('');
  });

  it('is null without an entity id or an integer revision (untracked)', () => {
    expect(trackedEntityOf(envelope({ payload: {} }), 1n)).toBeNull();
    expect(trackedEntityOf(envelope({ payload: { messageId: 'm-1' } }), null)).toBeNull();
    expect(
      trackedEntityOf(
        envelope({ payload: { messageId: 'm-1' } }),
        bigintOf(1.5, () => '1.5'),
      ),
    ).toBeNull();
    expect(
      trackedEntityOf(
        envelope({ payload: { messageId: 'm-1' } }),
        bigintOf('2', () => '"2"'),
      ),
    ).toBeNull();
  });
});
