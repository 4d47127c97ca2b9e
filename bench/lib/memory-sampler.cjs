// Preloaded into a process under test (`node -r bench/lib/memory-sampler.cjs …`): every 50 ms one
// line of process.memoryUsage() (JSON, with `at` in ms since start) appended to BENCH_MEMORY_LOG.
// A timer, not an HTTP endpoint: a saturated server still runs it between its I/O callbacks.
const { appendFileSync } = require('node:fs');
const file = process.env.BENCH_MEMORY_LOG;
if (file) {
  const started = Date.now();
  setInterval(() => {
    appendFileSync(file, `${JSON.stringify({ at: Date.now() - started, ...process.memoryUsage() })}\n`);
  }, 50).unref();
}
