import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The version in package.json (two levels up from src/config and from dist/config alike). */
export function packageVersion(): string {
  try {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: string;
    };
    return manifest.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
