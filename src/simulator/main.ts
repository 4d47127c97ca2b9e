#!/usr/bin/env node
import { runCli } from './cli.command';

runCli(process.argv.slice(2), process.env, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    // exitCode, not exit(): stdout is flushed before the process ends.
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `omnichannel-simulate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 2;
  },
);
