import { envelopeProblem, parseDelivery, summarizeDelivery } from './delivery.parser';

const bytes = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8');
const envelope = (eventId: string, extra: Record<string, unknown> = {}) => ({
  eventId,
  name: 'message.sent',
  payload: { messageId: `m-${eventId}` },
  revision: 1,
  ...extra,
});

describe('parseDelivery', () => {
  it('reads one envelope as a single well-formed delivery', () => {
    const one = envelope('e-1', { unknownField: { kept: true } });
    const body = bytes(one);
    expect(parseDelivery(body)).toEqual({
      problem: null,
      isBatch: false,
      envelopes: [{ index: 0, envelope: one, span: { start: 0, end: body.length } }],
      malformed: [],
      itemCount: 1,
    });
  });

  it('reads a batch with every envelope at its position', () => {
    const batch = [envelope('e-1'), envelope('e-2'), envelope('e-3')];
    const parsed = parseDelivery(bytes(batch));
    expect(parsed.problem).toBeNull();
    expect(parsed.isBatch).toBe(true);
    expect(parsed.itemCount).toBe(3);
    expect(parsed.malformed).toEqual([]);
    expect(parsed.envelopes).toEqual(
      batch.map((item, index) => ({ index, envelope: item, span: expect.any(Object) })),
    );
  });

  it('keeps repeated eventIds in a batch (deduplication is the store’s job)', () => {
    const parsed = parseDelivery(bytes([envelope('same'), envelope('same')]));
    expect(parsed.envelopes.map((e) => e.index)).toEqual([0, 1]);
  });

  it('splits a partly malformed batch into envelopes and malformed items with their index and reason', () => {
    const batch = [
      envelope('e-0'),
      'a string',
      { name: 'message.sent' },
      envelope('e-3'),
      { eventId: 'e-4' },
      null,
      { eventId: 42, name: 'message.sent' },
      [envelope('nested')],
      { eventId: '', name: 'message.sent' },
      { eventId: 'e-9', name: '' },
    ];
    const parsed = parseDelivery(bytes(batch));
    expect(parsed.problem).toBeNull();
    expect(parsed.isBatch).toBe(true);
    expect(parsed.itemCount).toBe(10);
    expect(parsed.envelopes.map((e) => [e.index, e.envelope.eventId])).toEqual([
      [0, 'e-0'],
      [3, 'e-3'],
    ]);
    const span = expect.any(Object) as unknown;
    expect(parsed.malformed).toEqual([
      { index: 1, reason: 'item is not a JSON object', span },
      { index: 2, reason: expect.stringMatching(/eventId/), span },
      { index: 4, reason: expect.stringMatching(/name/), span },
      { index: 5, reason: 'item is not a JSON object', span },
      { index: 6, reason: expect.stringMatching(/eventId/), span },
      { index: 7, reason: 'item is not a JSON object', span },
      { index: 8, reason: expect.stringMatching(/eventId/), span },
      { index: 9, reason: expect.stringMatching(/name/), span },
    ]);
  });

  it('reads [] as an empty batch, not a problem', () => {
    expect(parseDelivery(Buffer.from('[]'))).toEqual({
      problem: null,
      isBatch: true,
      envelopes: [],
      malformed: [],
      itemCount: 0,
    });
  });

  it('reads a batch larger than 500', () => {
    const parsed = parseDelivery(bytes(Array.from({ length: 501 }, (_, i) => envelope(`e-${i}`))));
    expect(parsed.envelopes).toHaveLength(501);
    expect(parsed.itemCount).toBe(501);
  });

  it('accepts surrounding whitespace and a UTF-8 body', () => {
    const parsed = parseDelivery(
      Buffer.from(' \n{"eventId":"ü-1","name":"message.inbound","payload":{"t":"👋"}}\n'),
    );
    expect(parsed.problem).toBeNull();
    expect(parsed.envelopes[0].envelope.eventId).toBe('ü-1');
  });

  describe('names the problem of a delivery it cannot understand', () => {
    it.each([
      ['an empty body', '', /empty/],
      ['invalid JSON', '{"eventId":', /not valid JSON/],
      ['text', 'hello', /not valid JSON/],
      ['a JSON number', '42', /object .*or an array/],
      ['a JSON string', '"text"', /object .*or an array/],
      ['JSON true', 'true', /object .*or an array/],
      ['JSON null', 'null', /object .*or an array/],
    ])('%s', (_, body, problem) => {
      const parsed = parseDelivery(Buffer.from(body, 'utf8'));
      expect(parsed.problem).toMatch(problem);
      expect(parsed.envelopes).toEqual([]);
      expect(parsed.isBatch).toBe(false);
      expect(parsed.itemCount).toBe(0);
      expect(parsed.malformed).toEqual([{ index: null, reason: parsed.problem, span: null }]);
    });

    it.each([
      ['an object without eventId', { name: 'message.sent' }, /eventId/],
      ['an object without name', { eventId: 'e-1' }, /name/],
      ['an empty object', {}, /eventId/],
      ['an object with a numeric eventId', { eventId: 17, name: 'message.sent' }, /eventId/],
      ['an object with a null eventId', { eventId: null, name: 'message.sent' }, /eventId/],
      ['an object with a numeric name', { eventId: 'e-1', name: 3 }, /name/],
    ])('%s (one item, not an envelope)', (_, value, problem) => {
      const parsed = parseDelivery(bytes(value));
      expect(parsed.problem).toMatch(/not a well-formed envelope/);
      expect(parsed.problem).toMatch(problem);
      expect(parsed.envelopes).toEqual([]);
      expect(parsed.itemCount).toBe(1);
      expect(parsed.malformed).toEqual([{ index: null, reason: parsed.problem, span: null }]);
    });
  });

  it('never throws, whatever the bytes', () => {
    for (const body of [Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('\u0000'), Buffer.from('[1,')]) {
      expect(() => parseDelivery(body)).not.toThrow();
      expect(parseDelivery(body).problem).toMatch(/not valid (JSON|UTF-8)/);
    }
  });

  it('refuses bytes that are not UTF-8 instead of decoding them with replacement characters', () => {
    // Two bodies that differ only in invalid bytes would decode to the same eventId.
    for (const bad of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
      const body = Buffer.concat([
        Buffer.from('{"eventId":"e-'),
        Buffer.from(bad),
        Buffer.from('","name":"message.sent"}'),
      ]);
      expect(parseDelivery(body).problem).toBe('body is not valid UTF-8');
      expect(summarizeDelivery(body).problem).toBe('body is not valid UTF-8');
    }
  });

  it('finds each item’s exact bytes in a batch, whatever the whitespace, strings and nesting', () => {
    const items = [
      '{"eventId":"a","name":"message.sent","payload":{"text":"a, [b] {c} \\\\\\" ]"}}',
      '  42 ',
      '{ "eventId" : "b", "name":"x", "payload":[1,[2,{"3":[]}]] }',
      '"str,ing"',
      '[1, 2]',
      'null',
    ];
    const body = Buffer.from(`\n[ ${items.join(' ,\n')} ]\n`);
    const parsed = parseDelivery(body);
    const all = [...parsed.envelopes, ...parsed.malformed].sort((x, y) => (x.index ?? 0) - (y.index ?? 0));
    expect(all.map((item) => body.toString('utf8', item.span!.start, item.span!.end))).toEqual(
      items.map((item) => item.trim()),
    );
  });
});

describe('summarizeDelivery', () => {
  it('counts like parseDelivery without keeping envelopes', () => {
    for (const value of [[envelope('a'), 'x', envelope('b')], envelope('c'), [], { name: 'n' }, 42]) {
      const body = bytes(value);
      const parsed = parseDelivery(body);
      const { apiSpaceIds: _spaces, ...counts } = summarizeDelivery(body);
      expect(counts).toEqual({
        problem: parsed.problem,
        itemCount: parsed.itemCount,
        wellFormed: parsed.envelopes.length,
        malformed: parsed.malformed.length,
      });
    }
  });

  it('names the apiSpaceId of each item, null for an item that names none', () => {
    const spaces = (value: unknown) => [...summarizeDelivery(bytes(value)).apiSpaceIds];
    expect(spaces([envelope('a', { apiSpaceId: 's-1' }), envelope('b', { apiSpaceId: 's-1' })])).toEqual([
      's-1',
    ]);
    expect(spaces([envelope('a', { apiSpaceId: 's-1' }), envelope('b'), 'x'])).toEqual(['s-1', null]);
    expect(spaces([])).toEqual([]);
    expect(spaces(envelope('a', { apiSpaceId: 7 }))).toEqual([null]);
    expect([...summarizeDelivery(Buffer.from('{"apiSpaceId":')).apiSpaceIds]).toEqual([null]);
  });
});

describe('envelopeProblem', () => {
  it('accepts an object with non-empty string eventId and name, whatever else it holds', () => {
    expect(envelopeProblem({ eventId: 'e', name: 'brand.new.event' })).toBeNull();
    expect(envelopeProblem({ eventId: 'e', name: 'n', revision: 'x', payload: 'not-an-object' })).toBeNull();
  });

  it('rejects what is not an object', () => {
    for (const value of [null, 1, 'x', [], true, undefined])
      expect(envelopeProblem(value)).toMatch(/not a JSON object/);
  });
});
