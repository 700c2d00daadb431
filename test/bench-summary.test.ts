/**
 * docs/benchmarks.md's opening for operators is computed from the results file: capacity per
 * core from the server CPU per operation, memory from the peak RSS, sizing from both.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { operatorSummary, renderMarkdown } from '../bench/report.js';
import type { BenchResults, Point, ServerResults } from '../bench/lib/results.js';

const latency = (p99: number) => ({ count: 100, p50: p99 / 2, p99 });
function point(scenario: Point['scenario'], concurrency: number, opsPerSec: number, cpuMsPerOp: number, extra: Partial<Point> = {}): Point {
  return {
    scenario,
    concurrency,
    mode: 'closed',
    cpuMsPerOp,
    sysMsPerOp: 0,
    cpuCores: (opsPerSec * cpuMsPerOp) / 1000,
    driverCores: 0.3,
    peakRssMb: 100,
    result: { opsPerSec, errors: 0, errorSamples: [], steps: { phone: latency(4), code: latency(6) }, flow: latency(20) },
    ...extra,
  } as Point;
}

const server = (kind: ServerResults['kind'], points: Point[], soakPeak?: number): ServerResults =>
  ({ kind, label: kind, startMs: 500, points, ...(soakPeak ? { soak: { peakRssMb: soakPeak, samples: [], seconds: 60, concurrency: 8, logins: 1, errors: 0, growthMb: 0, lateGrowthMb: 0 } } : {}) }) as ServerResults;

const results = {
  startedAt: '2030-01-02T03:04:05.000Z',
  totalSeconds: 100,
  command: 'npm run bench',
  options: { concurrency: [1, 8], seconds: { client_credentials: 1, login: 1, rest: 1, halfLoad: 1 }, soakSeconds: 60, eidhub: { entry: 'dist/main.js', nodeOptions: ['--max-old-space-size=128'], env: { MALLOC_ARENA_MAX: '2' }, shippedFlags: true } },
  machine: { cpu: 'Test CPU', cores: 4, memoryGb: 8, os: 'Linux', kernel: '6', node: 'v24.0.0', sqlite: '3', postgres: '17', eidhubCommit: 'abc1234', fsyncMs: 0.1, tempFs: 'ext4' },
  servers: [
    server('peer', [point('login', 8, 500, 2)]),
    server('sqlite', [point('login', 1, 100, 8), point('login', 8, 200, 4), point('client_credentials', 8, 5000, 0.2), point('login', 64, 100, 5, { mode: 'open', ratePerSec: 100 })], 140.2),
    server('postgres', [point('login', 8, 80, 10, { dbCpuMsPerOp: 5, peakRssMb: 120.5 }), point('client_credentials', 8, 3000, 0.25)]),
  ],
} as unknown as BenchResults;

describe('benchmarks page: the summary for operators', () => {
  const text = operatorSummary(results).join('\n');

  it('gives logins/s and tokens/s per core from the server CPU per operation at the best concurrency', () => {
    assert.match(text, /\| \*\*SMS logins\/s per core\*\* \| \*\*250\*\* \| \*\*100\*\* \|/);
    assert.match(text, /\| \*\*client_credentials tokens\/s per core\*\* \| \*\*5000\*\* \| \*\*4000\*\* \|/);
    assert.match(text, /200 at c=8, 0\.80 cores busy/);
    assert.match(text, /5\.00 ms \(200 logins\/s per PostgreSQL core\)/);
    assert.match(text, /slowest step code: p99 6\.0 ms/);
  });

  it('gives the peak RSS per process, the soak included, and sizes from the same figures', () => {
    assert.match(text, /\*\*140\.2 MiB\*\* \| \*\*120\.5 MiB\*\*/);
    assert.match(text, /100 logins\/s take about 0\.4 cores of eidhub on SQLite or 1\.0 cores of eidhub on PostgreSQL \(and 0\.5 cores of PostgreSQL\)/);
    assert.match(text, /plan 141 MiB per process/);
    assert.match(text, /Test CPU \(4 cores/);
  });

  it('opens the page, before the engineering log', () => {
    const page = renderMarkdown(results, '## Findings\n');
    assert.ok(page.indexOf('## For operators') < page.indexOf('## How to run'));
    assert.ok(page.indexOf('## For operators') > page.indexOf('Rendered by'));
  });
});
