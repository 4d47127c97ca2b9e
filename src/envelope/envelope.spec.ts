import {
  accountIdOf,
  entityIdOf,
  entityTypeOf,
  revisionOf,
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

describe('revisionOf', () => {
  it.each([0, 1, 3, 2 ** 40, Number.MAX_SAFE_INTEGER, -1])('accepts the integer %p', (revision) => {
    expect(revisionOf(envelope({ revision }))).toBe(revision);
  });

  it.each([1.5, '3', null, undefined, Number.NaN, Infinity, 2 ** 64, true, {}])('rejects %p', (revision) => {
    expect(revisionOf(envelope({ revision }))).toBeNull();
  });
});

describe('accountIdOf', () => {
  it('reads an integer account id, nothing else', () => {
    expect(accountIdOf(envelope({ accountId: 40213 }))).toBe(40213);
    expect(accountIdOf(envelope({ accountId: '40213' }))).toBeNull();
    expect(accountIdOf(envelope({}))).toBeNull();
  });
});

describe('timestampOf', () => {
  it('parses an ISO 8601 UTC timestamp exactly', () => {
    expect(timestampOf(envelope({ timestamp: '2026-11-20T09:26:14.801Z' }))?.toISOString()).toBe(
      '2026-11-20T09:26:14.801Z',
    );
  });

  it('honours an offset', () => {
    expect(timestampOf(envelope({ timestamp: '2026-11-20T10:26:14+01:00' }))?.toISOString()).toBe(
      '2026-11-20T09:26:14.000Z',
    );
  });

  it.each([['not a date'], [''], [1763630774801], [null], [undefined], [{}]])(
    'is null for %p',
    (timestamp) => {
      expect(timestampOf(envelope({ timestamp }))).toBeNull();
    },
  );
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
        envelope({ name: 'message.read', apiSpaceId: 'space-1', payload: { messageId: 'm-1' }, revision: 3 }),
      ),
    ).toEqual({ key: { apiSpaceId: 'space-1', entityType: 'message', entityId: 'm-1' }, revision: 3 });
  });

  it('uses the empty string for a missing api space', () => {
    expect(trackedEntityOf(envelope({ payload: { id: 'p' }, revision: 1 }))?.key.apiSpaceId).toBe('');
  });

  it('is null without an entity id or an integer revision (untracked)', () => {
    expect(trackedEntityOf(envelope({ payload: {}, revision: 1 }))).toBeNull();
    expect(trackedEntityOf(envelope({ payload: { messageId: 'm-1' } }))).toBeNull();
    expect(trackedEntityOf(envelope({ payload: { messageId: 'm-1' }, revision: 1.5 }))).toBeNull();
    expect(trackedEntityOf(envelope({ payload: { messageId: 'm-1' }, revision: '2' }))).toBeNull();
  });
});
