import { describe, expect, it } from 'vitest';
import { runFuzz } from './hostile-requests.ts';

/**
 * Hostile requests to every documented route through one pooled keep-alive client (issue 10).
 * FUZZ_SEED reproduces a run; FUZZ_RUNS sizes it; `npm run fuzz -- --runs 20000` is the long run.
 */
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const runs = Number(process.env.FUZZ_RUNS ?? 3000);

describe('fuzzing every route of the OpenAPI document', () => {
  it(`answers ${runs} hostile requests without a 5xx, a bare 4xx, a socket error or a change to the probe batch (seed ${seed})`, async () => {
    console.log(`fuzz seed ${seed} (rerun with FUZZ_SEED=${seed})`);
    const report = await runFuzz({ runs, seed, log: (line) => console.log(line) });
    console.log(`fuzz: ${report.requests} requests in ${report.ms} ms, by status ${JSON.stringify(report.byStatus)}`);
    expect(report.requests).toBe(runs);
  }, 240_000);
});
