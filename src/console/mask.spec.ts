import { maskJson, maskValue } from './mask';

describe('mask', () => {
  it('masks e-mail addresses and phone numbers inside JSON strings, as the design shows them', () => {
    expect(maskValue('jane@acme.com')).toBe('j•••@acme.com');
    expect(maskValue('447123456723')).toBe('4471••••••23');
    expect(maskValue('+44 7123 456723')).toBe('+4471••••••23');
    expect(maskValue('call +447123456723 today')).toBe('call +4471••••••23 today');
  });

  it('leaves numbers, dates, ids and short digit strings alone', () => {
    const json =
      '{"revision": 12345678901, "timestamp": "2026-12-07T17:17:42.767Z", "id": "evt-12", "code": "1234"}';
    expect(maskJson(json)).toBe(json);
  });

  it('masks only inside string literals, keeping the JSON valid', () => {
    const masked = maskJson('{"to": {"email": "j.doe@example.org", "phoneNumber": "+447700900123"}}');
    expect(JSON.parse(masked)).toEqual({ to: { email: 'j•••@example.org', phoneNumber: '+4477••••••23' } });
  });
});
