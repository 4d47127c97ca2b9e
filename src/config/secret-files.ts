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
}

/**
 * Replaces each `<NAME>_FILE` by `NAME` with the file's content (one trailing newline dropped, as
 * `echo` writes it). Both forms at once is refused: which one wins would be a guess.
 */
export function resolveSecretFiles(input: Record<string, unknown>, only?: readonly string[]): ResolvedEnv {
  const values: Record<string, unknown> = { ...input };
  const problems: string[] = [];
  for (const name of SECRET_VARIABLES) {
    if (only && !only.includes(name)) continue;
    const path = input[`${name}_FILE`];
    delete values[`${name}_FILE`];
    if (typeof path !== 'string' || path === '') continue;
    if (input[name] !== undefined) {
      problems.push(`${name}: set both ${name} and ${name}_FILE; use one of them`);
      continue;
    }
    try {
      values[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${name}_FILE: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return { values, problems };
}
