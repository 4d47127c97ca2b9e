import { SpacesFileError, parseSpacesFile, spacesFileWarnings } from './spaces-file';

const A1 = 'space-a-secret-0000000001';
const A2 = 'space-a-secret-0000000002';
const B1 = 'space-b-secret-0000000001';
const ANY = 'any-space-secret-00000001';

/** The problems parseSpacesFile names for `text`; fails the test when it accepts it. */
function problemsOf(text: string, alsoAnySpace: string[] = []): string[] {
  try {
    parseSpacesFile(text, alsoAnySpace);
  } catch (err) {
    expect(err).toBeInstanceOf(SpacesFileError);
    return [...(err as SpacesFileError).problems];
  }
  throw new Error('the file was accepted');
}

describe(parseSpacesFile.name, () => {
  it('reads the secrets of each space and of "*"', () => {
    const table = parseSpacesFile(JSON.stringify({ 'space-a': [A1, A2], 'space-b': [B1], '*': [ANY] }));
    expect(table.anySpace).toEqual([ANY]);
    expect([...table.bySpace]).toEqual([
      ['space-a', [A1, A2]],
      ['space-b', [B1]],
    ]);
  });

  it('accepts a file of spaces only, one of "*" only, a byte-order mark and an empty object', () => {
    expect(parseSpacesFile(JSON.stringify({ 'space-a': [A1] })).anySpace).toEqual([]);
    expect(parseSpacesFile(JSON.stringify({ '*': [ANY] })).bySpace.size).toBe(0);
    expect(parseSpacesFile(`\ufeff${JSON.stringify({ '*': [ANY] })}`).anySpace).toEqual([ANY]);
    // Valid alone; whether it leaves any secret at all is for the caller (WEBHOOK_SECRETS).
    expect(parseSpacesFile('{}').bySpace.size).toBe(0);
  });

  it.each([
    ['an empty file', '', 'is empty'],
    ['a blank file', ' \n', 'is empty'],
    [
      'an array',
      JSON.stringify([A1]),
      'must be a JSON object mapping each apiSpaceId (or "*") to a list of secrets, not an array',
    ],
    ['null', 'null', 'must be a JSON object mapping each apiSpaceId (or "*") to a list of secrets, not null'],
    [
      'a string',
      JSON.stringify(A1),
      'must be a JSON object mapping each apiSpaceId (or "*") to a list of secrets, not a string',
    ],
    [
      'a number',
      '42',
      'must be a JSON object mapping each apiSpaceId (or "*") to a list of secrets, not a number',
    ],
  ])('refuses %s', (_, text, problem) => {
    expect(problemsOf(text)).toEqual([problem]);
  });

  it('accepts any non-empty secret Dotdigital accepts: short, with commas, with edge spaces', () => {
    const secrets = ['a strong secret', 'x', 'one, two', ' padded ', '\tTabbed\n'];
    expect(parseSpacesFile(JSON.stringify({ '*': secrets })).anySpace).toEqual(secrets);
  });

  it('warns of each secret under 16 characters by its entry and position, never the secret', () => {
    const table = parseSpacesFile(
      JSON.stringify({ 'space-a': [A1, 'a strong secret'], '*': ['tiny'], 'space-b': ['0123456789abcdef'] }),
    );
    const warnings = spacesFileWarnings(table);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^WEBHOOK_SPACES_FILE "\*", secret 1: 4 characters, shorter than the recommended 16/,
      ),
      expect.stringMatching(/^WEBHOOK_SPACES_FILE API space "space-a", secret 2: 15 characters/),
    ]);
    expect(warnings.join('\n')).not.toMatch(/tiny|a strong secret/);
  });

  it('refuses text that is not JSON with its line and column, quoting nothing of it', () => {
    const text = `{\n  "space-a": ["${A1}",]\n}`;
    const [problem] = problemsOf(text);
    expect(problem).toMatch(/^is not valid JSON/);
    expect(problem).not.toContain(A1);
    expect(problem).not.toContain(A1.slice(0, 8));
    const missingComma = `{\n  "space-a": [\n    "${A1}"\n    "${A2}"\n  ]\n}`;
    expect(problemsOf(missingComma)).toEqual(['is not valid JSON (line 4, column 5)']);
  });

  it.each([
    [
      'a list that is a string',
      { 'space-a': A1 },
      'apiSpaceId "space-a": must be a list of secrets (a JSON array of strings), not a string',
    ],
    [
      'a list that is an object',
      { '*': { key: A1 } },
      '"*": must be a list of secrets (a JSON array of strings), not an object',
    ],
    [
      'a list that is null',
      { 'space-a': null },
      'apiSpaceId "space-a": must be a list of secrets (a JSON array of strings), not null',
    ],
    ['an empty list', { 'space-a': [] }, 'apiSpaceId "space-a": lists no secret (remove the entry instead)'],
    [
      'a secret that is a number',
      { 'space-a': [A1, 1234567890123456] },
      'apiSpaceId "space-a", secret 2: must be a string, not a number',
    ],
    [
      'a secret that is null',
      { 'space-a': [null] },
      'apiSpaceId "space-a", secret 1: must be a string, not null',
    ],
    ['a secret that is a list', { '*': [[A1]] }, '"*", secret 1: must be a string, not an array'],
    ['an empty secret', { 'space-a': [''] }, 'apiSpaceId "space-a", secret 1: is empty'],
    ['an empty apiSpaceId', { '': [A1] }, 'an apiSpaceId is empty or blank'],
    ['a blank apiSpaceId', { '  ': [A1] }, 'an apiSpaceId is empty or blank'],
    [
      'a secret under two spaces',
      { 'space-a': [A1], 'space-b': [A1] },
      'apiSpaceId "space-b", secret 1: the same secret is already listed under apiSpaceId "space-a"',
    ],
    [
      'a secret under a space and "*"',
      { 'space-a': [A1], '*': [A1] },
      '"*", secret 1: the same secret is already listed under apiSpaceId "space-a"',
    ],
    [
      'a secret twice in one space',
      { 'space-a': [A1, A1] },
      'apiSpaceId "space-a", secret 2: the same secret is already listed under apiSpaceId "space-a"',
    ],
  ])('refuses %s, naming where', (_, content, problem) => {
    expect(problemsOf(JSON.stringify(content))).toEqual([problem]);
  });

  it('refuses a secret that WEBHOOK_SECRETS already holds (it would accept any space there)', () => {
    expect(problemsOf(JSON.stringify({ 'space-a': [A1] }), [A1])).toEqual([
      'apiSpaceId "space-a", secret 1: the same secret is already listed under WEBHOOK_SECRETS',
    ]);
  });

  it('names every problem at once, and never a secret', () => {
    const short = 'short-secret';
    const problems = problemsOf(
      JSON.stringify({ 'space-a': [short, A1, ''], 'space-b': 'oops', 'space-c': [A1], '*': [] }),
    );
    expect(problems).toHaveLength(4);
    for (const secret of [short, A1]) expect(problems.join('\n')).not.toContain(secret);
  });

  it('cuts a very long apiSpaceId short in what it says', () => {
    const [problem] = problemsOf(JSON.stringify({ ['s'.repeat(500)]: [] }));
    expect(problem.length).toBeLessThan(140);
  });
});
