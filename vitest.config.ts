import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one worker fewer than the cores: a single worker on the 2-core CI machine,
    // every file in turn. Most files wait on PostgreSQL, Redis, Kafka or Chromium rather than burn
    // CPU, and each has its own database or schema and Redis prefix, so at least two run side by side.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
