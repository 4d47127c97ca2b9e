import { shortSecretWarnings } from '../config/short-secrets';

/** The entry of WEBHOOK_SPACES_FILE whose secrets accept any API space. */
export const ANY_SPACE = '*';

/** What WEBHOOK_SPACES_FILE says, validated: the secrets of each API space, and those of `*`. */
export interface SpacesTable {
  readonly anySpace: readonly string[];
  readonly bySpace: ReadonlyMap<string, readonly string[]>;
}

/** A file that cannot be used; the message names every problem, never a secret. */
export class SpacesFileError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
    this.name = 'SpacesFileError';
  }
}

const SHAPE = 'must be a JSON object mapping each apiSpaceId (or "*") to a list of secrets';

/**
 * Reads the text of WEBHOOK_SPACES_FILE: `{"<apiSpaceId>": ["secret", ...], "*": [...]}`. Each
 * secret belongs to exactly one entry (a secret under two spaces, or also in WEBHOOK_SECRETS, would
 * make "which space does this secret prove" ambiguous), so `alsoAnySpace` (WEBHOOK_SECRETS) is given
 * to refuse overlaps. Throws a SpacesFileError naming each problem by entry and position.
 */
export function parseSpacesFile(text: string, alsoAnySpace: readonly string[] = []): SpacesTable {
  const value = readJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new SpacesFileError([`${SHAPE}, not ${kindOf(value)}`]);

  const problems: string[] = [];
  const owner = new Map<string, string>(alsoAnySpace.map((secret) => [secret, 'WEBHOOK_SECRETS']));
  const bySpace = new Map<string, string[]>();
  let anySpace: string[] = [];
  for (const [space, list] of Object.entries(value as Record<string, unknown>)) {
    const entry = space === ANY_SPACE ? '"*"' : `apiSpaceId ${quoted(space)}`;
    if (space.trim() === '') {
      problems.push(`an apiSpaceId is empty or blank`);
      continue;
    }
    if (!Array.isArray(list)) {
      problems.push(`${entry}: must be a list of secrets (a JSON array of strings), not ${kindOf(list)}`);
      continue;
    }
    if (list.length === 0) problems.push(`${entry}: lists no secret (remove the entry instead)`);
    const secrets: string[] = [];
    for (const [index, secret] of (list as unknown[]).entries()) {
      const where = `${entry}, secret ${index + 1}`;
      const problem =
        typeof secret === 'string' ? secretProblem(secret, owner.get(secret)) : notAString(secret);
      if (problem !== null) problems.push(`${where}: ${problem}`);
      else {
        owner.set(secret as string, entry);
        secrets.push(secret as string);
      }
    }
    if (space === ANY_SPACE) anySpace = secrets;
    else bySpace.set(space, secrets);
  }
  if (problems.length > 0) throw new SpacesFileError(problems);
  return { anySpace, bySpace };
}

function readJson(text: string): unknown {
  // An editor's byte-order mark is not part of the JSON.
  const json = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (json.trim() === '') throw new SpacesFileError(['is empty']);
  try {
    return JSON.parse(json) as unknown;
  } catch (err) {
    // Only the position of the error: V8's message quotes the text around it, which holds secrets.
    const position = /at position (\d+)/.exec((err as Error).message)?.[1];
    throw new SpacesFileError([
      `is not valid JSON${position === undefined ? '' : ` (${lineAndColumn(json, Number(position))})`}`,
    ]);
  }
}

/**
 * `listedUnder`: the entry that already has this secret, if any. Any non-empty string is a secret
 * (Dotdigital sets no minimum; edge spaces are part of it, JSON shows them).
 */
function secretProblem(secret: string, listedUnder: string | undefined): string | null {
  if (secret === '') return 'is empty';
  if (listedUnder !== undefined) return `the same secret is already listed under ${listedUnder}`;
  return null;
}

/** A warning per secret shorter than recommended, naming its entry (`API space "<id>"` or `"*"`), never the secret. */
export function spacesFileWarnings(table: SpacesTable): string[] {
  return [
    ...shortSecretWarnings('WEBHOOK_SPACES_FILE "*"', table.anySpace),
    ...[...table.bySpace].flatMap(([space, secrets]) =>
      shortSecretWarnings(`WEBHOOK_SPACES_FILE API space ${quoted(space)}`, secrets),
    ),
  ];
}

const notAString = (value: unknown) => `must be a string, not ${kindOf(value)}`;

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** An apiSpaceId for a message: quoted, and cut short (it is a key of the file, never a secret). */
function quoted(space: string): string {
  return JSON.stringify(space.length > 64 ? `${space.slice(0, 64)}…` : space);
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return `line ${line}, column ${position - before.lastIndexOf('\n')}`;
}
