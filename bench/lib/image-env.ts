import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The environment docker/Dockerfile's runtime stage sets (`ENV K=V …` lines: NODE_ENV, the memory
 * settings), so the bench runs `node dist/main.js` as the image runs it (imageNodeArgs: its flags).
 * Values are plain words: a quoted or continued ENV line is refused rather than misread.
 */
export function imageRuntimeEnv(root: string): Record<string, string> {
  const runtime = runtimeStage(root);
  const vars: Record<string, string> = {};
  for (const [, line] of runtime.matchAll(/^ENV (.*)$/gm)) {
    for (const pair of line.trim().split(/\s+/)) {
      const match = /^([A-Za-z_][A-Za-z0-9_]*)=([^"'\\\s]+)$/.exec(pair);
      if (!match) throw new Error(`docker/Dockerfile: cannot read "ENV ${line}" (plain K=V pairs only)`);
      vars[match[1]] = match[2];
    }
  }
  return vars;
}

/**
 * The flags the image's `CMD ["node", …, "dist/main.js"]` gives node (V8's heap settings that
 * NODE_OPTIONS does not accept), so the bench starts the service with them too.
 */
export function imageNodeArgs(root: string): string[] {
  const cmd = /^CMD (\[.*\])$/m.exec(runtimeStage(root));
  const argv: unknown = cmd ? JSON.parse(cmd[1]) : null;
  if (
    !Array.isArray(argv) ||
    argv[0] !== 'node' ||
    argv[argv.length - 1] !== 'dist/main.js' ||
    !argv.every((arg) => typeof arg === 'string')
  )
    throw new Error('docker/Dockerfile: the runtime stage\'s CMD is not ["node", …flags, "dist/main.js"]');
  return argv.slice(1, -1);
}

function runtimeStage(root: string): string {
  const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');
  const stage = dockerfile.search(/^FROM .* AS runtime$/m);
  if (stage === -1) throw new Error('docker/Dockerfile: no "FROM … AS runtime" stage');
  return dockerfile.slice(stage);
}
