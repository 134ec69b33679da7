import { defineConfig } from 'vitest/config';

/**
 * Three projects:
 * - `unit`: pure and in-memory tests (`*.test.ts`), fast;
 * - `int`: `*.int.test.ts`, against the real Redis and Kafka broker that the global setup makes sure are up;
 * - `faults`: the fault-injection scenarios (`test/faults/*.faults.test.ts`), run by `npm run test:faults`.
 * `npm test` runs `unit` and `int`.
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'test/**/*.faults.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 120_000,
          // One broker and one Redis on two cores: files run one after another.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.faults.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 900_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
