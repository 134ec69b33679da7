import type { GenerateRequest, GenerateResult, HealthStatus, LlmProvider } from '../../src/services/ports.js';

/** Wraps a provider and counts the calls that completed, so a benchmark can measure calls per second. */
export class CountingProvider implements LlmProvider {
  /** Calls that returned a result since start (or the last `reset`). */
  completed = 0;

  constructor(private readonly inner: LlmProvider) {}

  get name(): string {
    return this.inner.name;
  }

  get model(): string {
    return this.inner.model;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const result = await this.inner.generate(request);
    this.completed += 1;
    return result;
  }

  healthCheck(): Promise<HealthStatus> {
    return this.inner.healthCheck();
  }
}
