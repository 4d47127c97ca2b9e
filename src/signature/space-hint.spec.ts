import { HINT_SCAN_LIMIT, apiSpaceIdHint } from './space-hint';

const hint = (text: string, limit?: number) => apiSpaceIdHint(Buffer.from(text, 'utf8'), limit);

describe(apiSpaceIdHint.name, () => {
  it('reads the apiSpaceId of one envelope', () => {
    expect(hint('{"eventId":"e-1","apiSpaceId":"space-a","name":"message.sent"}')).toBe('space-a');
  });

  it('reads the apiSpaceId of the first envelope of a batch', () => {
    expect(hint('[{"eventId":"e-1","apiSpaceId":"space-a"},{"apiSpaceId":"space-b"}]')).toBe('space-a');
  });

  it('allows whitespace around the colon and between tokens, as JSON does', () => {
    expect(hint('{ "eventId" : "e-1" ,\n\t"apiSpaceId"\r\n :\t "space-a" }')).toBe('space-a');
    expect(hint('\n[\n  {\n    "apiSpaceId": "space-a"\n  }\n]\n')).toBe('space-a');
  });

  it('decodes an escaped value the way JSON does', () => {
    expect(hint(String.raw`{"apiSpaceId":"a\"b\\c\u0041"}`)).toBe('a"b\\cA');
  });

  it('skips escaped quotes inside strings before it', () => {
    const text = String.raw`{"note":"he wrote \"apiSpaceId\":\"space-evil\" here \\","apiSpaceId":"space-a"}`;
    expect(JSON.parse(text)).toEqual({ note: expect.any(String), apiSpaceId: 'space-a' });
    expect(hint(text)).toBe('space-a');
  });

  it('skips an apiSpaceId nested in the payload, even when it comes first', () => {
    const text = JSON.stringify({
      eventId: 'e-1',
      payload: { apiSpaceId: 'space-nested', deeper: [{ apiSpaceId: 'space-deeper' }] },
      apiSpaceId: 'space-a',
    });
    expect(hint(text)).toBe('space-a');
    const batch = JSON.stringify([{ payload: { apiSpaceId: 'space-nested' }, apiSpaceId: 'space-a' }]);
    expect(hint(batch)).toBe('space-a');
  });

  it("takes the next envelope's apiSpaceId when the first envelope has none", () => {
    // "First" is the first envelope-level member in the bytes: a batch's first envelope without
    // apiSpaceId gives way to the next one's (only ever a hint).
    expect(hint('[{"eventId":"e-1"},{"apiSpaceId":"space-b"}]')).toBe('space-b');
  });

  it('skips a string value that reads apiSpaceId, and a non-string apiSpaceId', () => {
    expect(hint('{"name":"apiSpaceId","apiSpaceId":"space-a"}')).toBe('space-a');
    expect(hint('[{"apiSpaceId":null},{"apiSpaceId":"space-b"}]')).toBe('space-b');
    expect(hint('{"apiSpaceId":42}')).toBeNull();
  });

  it('ignores items of the top-level array that are not objects', () => {
    expect(hint('["apiSpaceId", {"apiSpaceId":"space-a"}]')).toBe('space-a');
    expect(hint('[["apiSpaceId", "x"]]')).toBeNull();
  });

  it.each([
    ['no apiSpaceId', '{"eventId":"e-1","name":"message.sent"}'],
    ['an empty body', ''],
    ['not JSON', 'apiSpaceId: space-a'],
    ['an unterminated string', '{"apiSpaceId":"space-a'],
    ['a key written with escapes (a miss: only a hint)', String.raw`{"api\u0053paceId":"space-a"}`],
    ['only a nested apiSpaceId', '{"payload":{"apiSpaceId":"space-nested"}}'],
  ])('gives no hint for %s', (_, text) => {
    expect(hint(text)).toBeNull();
  });

  it('looks no further than its limit', () => {
    const padding = 'x'.repeat(HINT_SCAN_LIMIT);
    expect(hint(`{"pad":"${padding}","apiSpaceId":"space-a"}`)).toBeNull();
    expect(hint(`{"pad":"${'x'.repeat(100)}","apiSpaceId":"space-a"}`, 120)).toBeNull();
    expect(hint(`{"pad":"${'x'.repeat(100)}","apiSpaceId":"space-a"}`, 500)).toBe('space-a');
  });

  it('never throws on arbitrary bytes', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const bytes = Buffer.alloc(64, 0);
      for (let i = 0; i < bytes.length; i++) bytes[i] = ((seed * 7919 + i * 104729) % 251) & 0xff;
      expect(() => apiSpaceIdHint(bytes)).not.toThrow();
    }
  });
});
