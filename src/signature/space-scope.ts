/** The quarantine reason of a delivery signed with one API space's secret that names another. */
export const SPACE_MISMATCH_REASON = 'apiSpaceId does not match the secret';

/**
 * Whether every envelope of a verified, parseable delivery names `space` as its apiSpaceId: a
 * space's secret proves only that space's events. An item without apiSpaceId (or not an object)
 * does not. An empty batch names nothing it may not.
 *
 * Parses the body with JSON.parse, the parser the worker stores with, so both read the same
 * apiSpaceId (escaped keys, repeated keys: the last wins) and a raw-bytes shortcut cannot disagree.
 */
export function namesOnlySpace(body: Buffer, space: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return false;
  }
  const items: unknown[] = Array.isArray(value) ? value : [value];
  return items.every(
    (item) =>
      typeof item === 'object' &&
      item !== null &&
      !Array.isArray(item) &&
      (item as { apiSpaceId?: unknown }).apiSpaceId === space,
  );
}
