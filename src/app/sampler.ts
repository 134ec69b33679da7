/**
 * The sampler a configuration describes: the pure `createSampler` (`prompts/sampling.ts`) bound to the
 * config's pool, seed, temperature range and run id, the config's hash and this build's version.
 */
import type { Config } from '../config.js';
import type { Speaker } from '../events.js';
import { createSampler, type Sampler } from '../prompts/sampling.js';
import { CHIMERA_VERSION } from '../version.js';
import { configHash } from './config-hash.js';

/** The sampler a configuration describes. */
export function samplerFor(config: Readonly<Config>, machineVersion: string): Sampler {
  const fixed: Partial<Record<Speaker, string>> = {};
  const q = config.conversation.questionerSystemPrompt?.trim();
  const a = config.conversation.answererSystemPrompt?.trim();
  if (q) fixed.questioner = q;
  if (a) fixed.answerer = a;
  return createSampler({
    pool: config.dataset.pool,
    seed: config.dataset.seed,
    temperature: config.dataset.temperature,
    runId: config.dataset.runId,
    configHash: configHash(config),
    machineVersion,
    chimeraVersion: CHIMERA_VERSION,
    fixed,
  });
}
