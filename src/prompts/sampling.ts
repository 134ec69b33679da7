/**
 * Draws each conversation's persona pair, style and temperature, deterministically from the run's seed and
 * the topic id, and stamps the provenance its record will carry.
 *
 * Copies of one topic (`--conversations N` gives ids `ID#1..N`, optionally followed by `@RUN`) are meant
 * to differ, so the copy number is not hashed like the rest of the id: it indexes a keyed permutation of
 * every (questioner, answerer, style) combination, keyed by the seed and the rest of the id. Copies
 * `1..N` of a topic therefore get N different combinations whenever the pool has at least N (the built-in
 * one has over 3,000), while the temperature is drawn from the whole id. Any other topic id draws its
 * combination from a hash of the seed and the id.
 *
 * A side fixed by `QUESTIONER_SYSTEM_PROMPT` / `ANSWERER_SYSTEM_PROMPT` keeps that prompt (persona id
 * {@link FIXED_PERSONA_IDS}); the other side and the style are still drawn. Pure: the configuration's
 * sampler (its pool, seed, range, run id and config hash) is bound in `app/sampler.ts`.
 */
import { createHash } from 'node:crypto';
import type { Speaker } from '../events.js';
import { digest } from '../provenance/hash.js';
import { permute } from './permutation.js';
import type { ConversationStyle, Persona, PersonaPool } from './personas/types.js';

/** Ids recorded for a side whose prompt comes from `QUESTIONER_SYSTEM_PROMPT` / `ANSWERER_SYSTEM_PROMPT`. */
export const FIXED_PERSONA_IDS: Record<Speaker, string> = {
  questioner: 'env-questioner-prompt',
  answerer: 'env-answerer-prompt',
};

/** Temperatures are drawn to this many decimals: finer steps make no difference to any provider. */
const TEMPERATURE_DECIMALS = 2;

/** A persona or style as a record names it: its id and the digest of its prompt text. */
export interface PromptRef {
  id: string;
  promptHash: string;
}

/** What a record says about how its conversation was set up. */
export interface ConversationProvenance {
  chimeraVersion: string;
  machineVersion: string;
  runId: string;
  seed: number;
  configHash: string;
  personas: Record<Speaker, PromptRef>;
  style: PromptRef;
  temperature: number;
}

export interface ConversationSample {
  /** Each side's system prompt: its persona, then the style. */
  personas: Record<Speaker, string>;
  temperature: number;
  provenance: ConversationProvenance;
}

export interface SamplerOptions {
  pool: PersonaPool;
  seed: number;
  temperature: { min: number; max: number };
  runId: string;
  configHash: string;
  machineVersion: string;
  /** The Chimera version every record is stamped with. */
  chimeraVersion: string;
  /** Prompts that fix a side (the persona file's pool is not drawn from for that side). */
  fixed?: Partial<Record<Speaker, string>>;
}

/** A topic id split into its copy number and the rest (`T#3@run` is copy 3 of `T@run`); copy 0 otherwise. */
export function copyOf(topicId: string): { base: string; copy: number } {
  const match = /^(.*)#(\d{1,9})(@[^#@]*)?$/.exec(topicId);
  if (!match) return { base: topicId, copy: 0 };
  return { base: `${match[1]}${match[3] ?? ''}`, copy: Number(match[2]) };
}

/** 32 bits of SHA-256 over the parts: stable across processes and platforms, unlike any seeded PRNG state. */
function hash32(...parts: Array<string | number>): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0);
}

function ref(entry: Persona | ConversationStyle): PromptRef {
  return { id: entry.id, promptHash: digest(entry.prompt) };
}

/** The style's instructions follow the persona, so the persona sets the voice and the style the situation. */
export function composePrompt(persona: string, style: string): string {
  return `${persona}\n\n${style}`;
}

export type Sampler = (topicId: string) => ConversationSample;

export function createSampler(options: SamplerOptions): Sampler {
  const { pool, seed } = options;
  const questioners: readonly Persona[] = options.fixed?.questioner
    ? [{ id: FIXED_PERSONA_IDS.questioner, prompt: options.fixed.questioner }]
    : pool.questioners;
  const answerers: readonly Persona[] = options.fixed?.answerer
    ? [{ id: FIXED_PERSONA_IDS.answerer, prompt: options.fixed.answerer }]
    : pool.answerers;
  const styles = pool.styles;
  const combinations = questioners.length * answerers.length * styles.length;

  return (topicId) => {
    const { base, copy } = copyOf(topicId);
    const key = hash32('combination', seed, base);
    // Copies index the permutation; a plain id takes one hashed position in it.
    const position = copy > 0 ? (copy - 1) % combinations : hash32('position', seed, base) % combinations;
    let index = permute(position, combinations, key);
    const styleIndex = index % styles.length;
    index = Math.floor(index / styles.length);
    const answererIndex = index % answerers.length;
    const questionerIndex = Math.floor(index / answerers.length);
    const questioner = questioners[questionerIndex]!;
    const answerer = answerers[answererIndex]!;
    const style = styles[styleIndex]!;

    const { min, max } = options.temperature;
    const unit = hash32('temperature', seed, topicId) / 2 ** 32;
    const factor = 10 ** TEMPERATURE_DECIMALS;
    const temperature = Math.round((min + (max - min) * unit) * factor) / factor;

    return {
      personas: {
        questioner: composePrompt(questioner.prompt, style.prompt),
        answerer: composePrompt(answerer.prompt, style.prompt),
      },
      temperature,
      provenance: {
        chimeraVersion: options.chimeraVersion,
        machineVersion: options.machineVersion,
        runId: options.runId,
        seed,
        configHash: options.configHash,
        personas: { questioner: ref(questioner), answerer: ref(answerer) },
        style: ref(style),
        temperature,
      },
    };
  };
}
