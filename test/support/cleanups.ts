/**
 * What a test started and must stop again (servers, daemons, keys, topics), undone in reverse order of
 * registration. A failing step is reported and does not stop the rest.
 */
import { afterAll, afterEach } from 'vitest';

export class Cleanups {
  private readonly steps: Array<() => Promise<unknown>> = [];

  add(...steps: Array<() => Promise<unknown>>): void {
    this.steps.push(...steps);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      await step().catch((error: unknown) => console.warn('test cleanup failed:', error));
    }
  }
}

/** Cleanups run after each test of the file. */
export function cleanupsAfterEach(): Cleanups {
  const cleanups = new Cleanups();
  afterEach(() => cleanups.run());
  return cleanups;
}

/** Cleanups run once, after the last test of the file. */
export function cleanupsAfterAll(): Cleanups {
  const cleanups = new Cleanups();
  afterAll(() => cleanups.run());
  return cleanups;
}
