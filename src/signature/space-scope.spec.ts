import { summarizeDelivery } from '../envelope/delivery.parser';
import { namesOnlySpace } from './space-scope';

/** As the intake reads a body: its one parse (summarizeDelivery) names the spaces. */
const names = (text: string) => namesOnlySpace(summarizeDelivery(Buffer.from(text)).apiSpaceIds, 'space-a');

describe(namesOnlySpace.name, () => {
  it.each([
    ['one envelope of the space', '{"eventId":"e-1","apiSpaceId":"space-a"}'],
    ['a batch of the space', '[{"apiSpaceId":"space-a"},{"eventId":"e-2","apiSpaceId":"space-a"}]'],
    ['an empty batch', '[]'],
    [
      'a nested apiSpaceId of another space (only the envelope counts)',
      '{"apiSpaceId":"space-a","payload":{"apiSpaceId":"b"}}',
    ],
  ])('holds for %s', (_, text) => {
    expect(names(text)).toBe(true);
  });

  it.each([
    ['an envelope of another space', '{"apiSpaceId":"space-b"}'],
    ['a batch mixing two spaces', '[{"apiSpaceId":"space-a"},{"apiSpaceId":"space-b"}]'],
    ['an envelope without apiSpaceId', '[{"apiSpaceId":"space-a"},{"eventId":"e-2"}]'],
    ['an apiSpaceId that is not a string', '{"apiSpaceId":["space-a"]}'],
    ['a batch item that is not an object', '[{"apiSpaceId":"space-a"},"space-a"]'],
    ['a nested batch', '[[{"apiSpaceId":"space-a"}]]'],
    [
      'an escaped key naming another space (JSON reads it as apiSpaceId)',
      String.raw`{"api\u0053paceId":"space-b"}`,
    ],
    ['a repeated key: JSON keeps the last', '{"apiSpaceId":"space-a","apiSpaceId":"space-b"}'],
    ['a space id differing in case', '{"apiSpaceId":"SPACE-A"}'],
    ['bytes that are not JSON', '{"apiSpaceId":"space-a"'],
  ])('fails for %s', (_, text) => {
    expect(names(text)).toBe(false);
  });
});
