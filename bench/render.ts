/**
 * `npm run bench:render`: bench/results/latest.md again from bench/results/latest.json, the data of the
 * last run (after a change to how the tables read), without running anything.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderResults, type BenchResults } from './lib/render';

const RESULTS = join(resolve(__dirname, '..'), 'bench', 'results');
const results = JSON.parse(readFileSync(join(RESULTS, 'latest.json'), 'utf8')) as BenchResults;
writeFileSync(join(RESULTS, 'latest.md'), renderResults(results));
console.log('wrote bench/results/latest.md from bench/results/latest.json');
