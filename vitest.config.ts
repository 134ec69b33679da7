import { defineConfig } from 'vitest/config';

/**
 * `npm test` runs both projects: `unit` (pure, in-memory, fast) and `int` (`*.int.test.ts`, against the
 * real Redis and Kafka broker that the global setup makes sure are up).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.int.test.ts', 'test/faults/**'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'int',
          include: ['test/**/*.int.test.ts'],
          exclude: ['test/faults/**'],
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 90_000,
          hookTimeout: 120_000,
          // One broker and one Redis on two cores: files run one after another, their tests concurrently
          // where they say so.
          fileParallelism: false,
        },
      },
    ],
  },
});
