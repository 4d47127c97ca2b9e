import { readFileSync } from 'node:fs';

/** The variables that hold secrets; each can instead be given as `<NAME>_FILE` (Docker secrets). */
export const SECRET_VARIABLES = [
  'WEBHOOK_SECRETS',
  'DATABASE_URL',
  'AMQP_URL',
  'ADMIN_API_KEYS',
  'ADMIN_READ_KEYS',
] as const;

export interface ResolvedEnv {
  values: Record<string, unknown>;
  /** `NAME: why`, never a value. */
  problems: string[];
  /** Worth an operator's attention at start-up, never a value. */
  warnings: string[];
}

/**
 * Replaces each `<NAME>_FILE` by `NAME` with the file's content (one trailing newline dropped, as
 * `echo` writes it). `WEBHOOK_SECRETS_FILE` is read as a list instead (webhookSecretLines). Both
 * forms at once is refused: which one wins would be a guess.
 */
export function resolveSecretFiles(input: Record<string, unknown>, only?: readonly string[]): ResolvedEnv {
  const values: Record<string, unknown> = { ...input };
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const name of SECRET_VARIABLES) {
    if (only && !only.includes(name)) continue;
    const path = input[`${name}_FILE`];
    delete values[`${name}_FILE`];
    if (typeof path !== 'string' || path === '') continue;
    if (input[name] !== undefined) {
      problems.push(`${name}: set both ${name} and ${name}_FILE; use one of them`);
      continue;
    }
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      problems.push(`${name}_FILE: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      continue;
    }
    if (name === 'WEBHOOK_SECRETS') {
      const { secrets, withComma } = webhookSecretLines(text);
      values[name] = secrets;
      if (withComma.length > 0) warnings.push(commaWarning(withComma));
    } else values[name] = text.replace(/\r?\n$/, '');
  }
  return { values, problems, warnings };
}

/**
 * WEBHOOK_SECRETS_FILE: one secret per line, taken verbatim (a secret is "a phrase or password":
 * commas and edge spaces are part of it). Empty lines, a final newline and `\r` of `\r\n` are not.
 * `withComma`: the 1-based numbers of lines holding a comma.
 */
export function webhookSecretLines(text: string): { secrets: string[]; withComma: number[] } {
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r?\n/);
  const secrets: string[] = [];
  const withComma: number[] = [];
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    secrets.push(line);
    if (line.includes(',')) withComma.push(index + 1);
  }
  return { secrets, withComma };
}

// Earlier versions split this file at commas like WEBHOOK_SECRETS: an upgrading operator must see it.
function commaWarning(lines: number[]): string {
  return (
    `WEBHOOK_SECRETS_FILE, line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}: holds a comma; each line is one whole secret, ` +
    'the comma part of it (earlier versions split a line at commas into several secrets: put each on its own line)'
  );
}
