import { bytesMatch, bytesNameEntity, jsonItems } from './json-naming';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const sent = {
  name: 'message.sent',
  apiSpaceId: 'space-1',
  payload: { messageId: 'm-1', metadata: { orderId: 10442 } },
};

describe('reading kept bytes as JSON', () => {
  it('reads one envelope or a batch, and nothing from bytes that are not JSON or not UTF-8', () => {
    expect(jsonItems(bytes(sent))).toEqual([sent]);
    expect(jsonItems(bytes([sent, 42, { note: 'no eventId' }]))).toEqual([sent, { note: 'no eventId' }]);
    expect(jsonItems(Buffer.from('{"eventId": '))).toBeNull();
    expect(jsonItems(Buffer.from([0x7b, 0xff, 0x7d]))).toBeNull();
  });

  it('finds the entity an item names, in its API space only', () => {
    const entity = { entityType: 'message', entityId: 'm-1', apiSpaceId: 'space-1' };
    expect(bytesNameEntity(bytes([42, sent]), entity)).toBe(true);
    expect(bytesNameEntity(bytes(sent), { ...entity, apiSpaceId: 'space-2' })).toBe(false);
    expect(bytesNameEntity(bytes(sent), { ...entity, entityType: 'profile' })).toBe(false);
    expect(bytesNameEntity(Buffer.from('m-1 but not JSON'), entity)).toBe(false);
  });

  it('matches a path and value as text, numbers included', () => {
    expect(bytesMatch(bytes(sent), { path: ['payload', 'metadata', 'orderId'], value: '10442' })).toBe(true);
    expect(bytesMatch(bytes(sent), { path: ['payload', 'metadata', 'orderId'], value: '1044' })).toBe(false);
    expect(bytesMatch(bytes(sent), { path: ['payload', 'metadata'], value: '10442' })).toBe(false);
    expect(bytesMatch(bytes(sent), { path: ['payload', 'toString'], value: 'x' })).toBe(false);
  });
});
