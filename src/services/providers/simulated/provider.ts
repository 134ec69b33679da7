import {
  type Clock,
  type GenerateRequest,
  type GenerateResult,
  type HealthStatus,
  type LlmProvider,
  systemClock,
} from '../../ports.js';
import { abortReason } from '../map-error.js';
import { type DialogueOptions, estimateTokens, generateDialogue } from './dialogue.js';
import { hashNumber, hashString } from './random.js';
import { sampleJson } from './structured.js';

export interface SimulatedProviderOptions {
  /**
   * Model name reported in results.
   * @default SIMULATED_MODEL
   */
  model?: string;
  /**
   * Fixed delay of every reply, in milliseconds (`SIMULATED_LATENCY_MS`); 0 answers at once.
   * @default 0
   */
  latencyMs?: number;
  /**
   * Seed of the text generator: the same seed and conversation give the same reply.
   * @default 1
   */
  seed?: number;
  /** @default systemClock */
  clock?: Clock;
  /**
   * Turns between which a conversation says goodbye (`MIN_CONVERSATION_TURNS`, `MAX_CONVERSATION_TURNS`).
   * @default DEFAULT_CLOSING_TURNS
   */
  closingTurns?: DialogueOptions['closingTurns'];
}

export const SIMULATED_MODEL = 'chimera-simulated-1';

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * An in-process `LlmProvider` for demos, tests and benchmarks: plausible, varied dialogue about the
 * conversation's topic from the shared generator, usage counted at about four characters per token, and a
 * fixed latency that honours the abort signal. It never fails; failures are the fake server's job.
 */
export class SimulatedProvider implements LlmProvider {
  readonly name = 'simulated';
  readonly model: string;
  private readonly latencyMs: number;
  private readonly seed: number;
  private readonly clock: Clock;
  private readonly dialogue: DialogueOptions;
  private calls = 0;

  constructor(options: SimulatedProviderOptions = {}) {
    this.model = options.model ?? SIMULATED_MODEL;
    this.latencyMs = Math.max(0, options.latencyMs ?? 0);
    this.seed = options.seed ?? 1;
    this.clock = options.clock ?? systemClock;
    this.dialogue = options.closingTurns ? { closingTurns: options.closingTurns } : {};
  }

  async start(): Promise<void> {}

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    if (request.signal?.aborted) throw abortReason(request.signal);
    const startedAt = this.clock.now();
    if (this.latencyMs > 0) await delay(this.latencyMs, request.signal);

    // Each conversation gets its own stream of replies: copies of one topic must not be word-for-word equal.
    const conversation = request.idempotencyKey?.split(':')[0] ?? '';
    const streamSeed = hashString(conversation, hashNumber(this.seed));
    const reply = request.structured
      ? {
          text: JSON.stringify(sampleJson(request.structured.schema, streamSeed)),
          stopReason: 'end_turn' as const,
        }
      : generateDialogue(request, streamSeed, this.dialogue);
    let inputChars = request.system.length;
    for (const message of request.messages) inputChars += message.content.length;
    this.calls += 1;
    const id = hashString(request.idempotencyKey ?? '', hashNumber(this.calls, hashNumber(this.seed)));
    return {
      text: reply.text,
      model: request.model ?? this.model,
      stopReason: reply.stopReason,
      usage: { inputTokens: Math.ceil(inputChars / 4), outputTokens: estimateTokens(reply.text) },
      latencyMs: Math.max(this.latencyMs, this.clock.now() - startedAt),
      requestId: `sim_${id.toString(16).padStart(8, '0')}_${this.calls}`,
    };
  }

  async healthCheck(): Promise<HealthStatus> {
    return { healthy: true, latencyMs: 0 };
  }
}
