import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configHash, hashedSettings } from '../../src/app/config-hash.js';
import { samplerFor } from '../../src/app/sampler.js';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { permute } from '../../src/prompts/permutation.js';
import { BUILTIN_POOL } from '../../src/prompts/personas/builtin.js';
import { applyPersonasText } from '../../src/prompts/personas/file.js';
import { copyOf, FIXED_PERSONA_IDS } from '../../src/prompts/sampling.js';
import { isTruncated } from '../../src/provenance/stop-reason.js';
import { normalizeStopReason } from '../../src/services/providers/options.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chimera-personas-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fileError(text: string): string {
  try {
    applyPersonasText(text, 'p.json', BUILTIN_POOL);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('persona pool and sampling', () => {
  it('the built-in pool has at least 20 questioners, 20 answerers and the five required styles, ids unique', () => {
    expect(BUILTIN_POOL.questioners.length).toBeGreaterThanOrEqual(20);
    expect(BUILTIN_POOL.answerers.length).toBeGreaterThanOrEqual(20);
    const styles = BUILTIN_POOL.styles.map((s) => s.id);
    for (const required of ['interview', 'debate', 'tutoring', 'casual-chat', 'troubleshooting']) {
      expect(styles).toContain(required);
    }
    for (const list of [BUILTIN_POOL.questioners, BUILTIN_POOL.answerers, BUILTIN_POOL.styles]) {
      expect(new Set(list.map((p) => p.id)).size).toBe(list.length);
      expect(new Set(list.map((p) => p.prompt)).size).toBe(list.length);
    }
  });

  it('a permutation visits every value once', () => {
    for (const size of [1, 2, 7, 100, 3174]) {
      const seen = new Set(Array.from({ length: size }, (_, i) => permute(i, size, 42)));
      expect(seen.size).toBe(size);
    }
  });

  it('draws are deterministic in seed and topic id, and another seed draws others', () => {
    const a = samplerFor(loadConfig({ SEED: '5', RUN_ID: 'r1' }), 'm@1');
    const b = samplerFor(loadConfig({ SEED: '5', RUN_ID: 'r2' }), 'm@1');
    const c = samplerFor(loadConfig({ SEED: '6' }), 'm@1');
    const ids = Array.from({ length: 30 }, (_, i) => `topic-${i}`);
    const pick = (s: typeof a) =>
      ids.map((id) => JSON.stringify([s(id).provenance.personas, s(id).provenance.style, s(id).temperature]));
    expect(pick(a)).toEqual(pick(b));
    expect(pick(a)).not.toEqual(pick(c));
  });

  it('copies ID#1..N of one topic, with or without a run suffix, get N different combinations', () => {
    expect(copyOf('t-1#12@abc')).toEqual({ base: 't-1@abc', copy: 12 });
    expect(copyOf('plain')).toEqual({ base: 'plain', copy: 0 });
    const sample = samplerFor(loadConfig({}), 'm@1');
    for (const suffix of ['', '@run7']) {
      const combos = Array.from({ length: 500 }, (_, i) => {
        const p = sample(`topic#${i + 1}${suffix}`).provenance;
        return `${p.personas.questioner.id}|${p.personas.answerer.id}|${p.style.id}`;
      });
      expect(new Set(combos).size).toBe(500);
    }
  });

  it('QUESTIONER_SYSTEM_PROMPT and ANSWERER_SYSTEM_PROMPT fix their side, recorded under fixed ids', () => {
    const sample = samplerFor(
      loadConfig({
        QUESTIONER_SYSTEM_PROMPT: 'You ask about boats.',
        ANSWERER_SYSTEM_PROMPT: 'You know boats.',
      }),
      'm@1',
    );
    for (let i = 0; i < 10; i++) {
      const drawn = sample(`t#${i + 1}`);
      expect(drawn.personas.questioner.startsWith('You ask about boats.')).toBe(true);
      expect(drawn.personas.answerer.startsWith('You know boats.')).toBe(true);
      expect(drawn.provenance.personas.questioner.id).toBe(FIXED_PERSONA_IDS.questioner);
      expect(drawn.provenance.personas.answerer.id).toBe(FIXED_PERSONA_IDS.answerer);
    }
  });

  it('TEMPERATURE is a fixed value; TEMPERATURE_MIN/MAX a range; both at once is refused', () => {
    const fixed = samplerFor(loadConfig({ TEMPERATURE: '0.3' }), 'm@1');
    expect(new Set(Array.from({ length: 20 }, (_, i) => fixed(`t${i}`).temperature))).toEqual(new Set([0.3]));
    const ranged = samplerFor(loadConfig({ TEMPERATURE_MIN: '0.2', TEMPERATURE_MAX: '0.4' }), 'm@1');
    const drawn = Array.from({ length: 50 }, (_, i) => ranged(`t${i}`).temperature);
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(0.2);
    expect(Math.max(...drawn)).toBeLessThanOrEqual(0.4);
    expect(new Set(drawn).size).toBeGreaterThan(5);
    expect(() => loadConfig({ TEMPERATURE: '0.3', TEMPERATURE_MAX: '0.9' })).toThrow(
      /^TEMPERATURE_MAX: set either TEMPERATURE .* not both$/,
    );
    expect(() => loadConfig({ TEMPERATURE_MIN: '0.9', TEMPERATURE_MAX: '0.5' })).toThrow(
      /^TEMPERATURE_MIN: must not exceed/,
    );
  });

  it('a personas file adds entries, replaces same-id ones, or replaces whole lists', () => {
    const added = applyPersonasText(
      JSON.stringify({
        questioners: [
          { id: 'sailor', prompt: 'You are a sailor.' },
          { id: 'lawyer', prompt: 'You are terse.' },
        ],
      }),
      'p.json',
      BUILTIN_POOL,
    );
    expect(added.questioners.length).toBe(BUILTIN_POOL.questioners.length + 1);
    expect(added.questioners.find((p) => p.id === 'lawyer')?.prompt).toBe('You are terse.');
    expect(added.answerers).toBe(BUILTIN_POOL.answerers);
    const replaced = applyPersonasText(
      JSON.stringify({ replace: true, styles: [{ id: 'quiz', prompt: 'This conversation is a quiz.' }] }),
      'p.json',
      BUILTIN_POOL,
    );
    expect(replaced.styles.map((s) => s.id)).toEqual(['quiz']);
    expect(replaced.questioners).toBe(BUILTIN_POOL.questioners);
  });

  it('a bad personas file is refused with one line naming the file and the entry', async () => {
    expect(fileError('{oops')).toBe('PERSONAS_FILE: p.json: not valid JSON');
    expect(
      fileError(
        JSON.stringify({
          answerers: [
            { id: 'ok', prompt: 'x' },
            { id: 'Bad Id', prompt: 'y' },
          ],
        }),
      ),
    ).toBe(
      'PERSONAS_FILE: p.json answerers[1] (id "Bad Id"): id: id must be 1-64 characters of lower-case letters, digits and hyphens',
    );
    expect(fileError(JSON.stringify({ styles: [{ id: 'blank', prompt: '  ' }] }))).toBe(
      'PERSONAS_FILE: p.json styles[0] (id "blank"): prompt must not be blank',
    );
    expect(
      fileError(
        JSON.stringify({
          styles: [
            { id: 'a', prompt: 'x' },
            { id: 'a', prompt: 'y' },
          ],
        }),
      ),
    ).toBe('PERSONAS_FILE: p.json styles[1] (id "a"): id appears twice in styles');
    expect(fileError(JSON.stringify({ replace: true, questioners: [] }))).toBe(
      'PERSONAS_FILE: p.json: questioners: the pool would be empty (give at least one entry)',
    );
    expect(fileError(JSON.stringify({ personas: [] }))).toMatch(/^PERSONAS_FILE: p.json: .*personas/);
    const path = join(dir, 'bad.json');
    await writeFile(path, JSON.stringify({ questioners: [{ id: 'x', prompt: 'p', extra: 1 }] }));
    expect(() => loadConfig({ PERSONAS_FILE: path })).toThrow(
      /^PERSONAS_FILE: .*bad.json questioners\[0\] \(id "x"\): /,
    );
    expect(() => loadConfig({ PERSONAS_FILE: join(dir, 'missing.json') })).toThrow(
      /cannot read the file \(no such file\)/,
    );
  });

  it('the config hash leaves secrets and per-process values out, and changes with what shapes the data', () => {
    const base = { ANTHROPIC_API_KEY: 'sk-ant-secret-one', REDIS_URL: 'redis://:hunter2@127.0.0.1:6379' };
    const one = loadConfig(base);
    const other = loadConfig({
      ...base,
      ANTHROPIC_API_KEY: 'sk-ant-secret-two',
      RUN_ID: 'x',
      INSTANCE_ID: 'y',
    });
    expect(configHash(one)).toBe(configHash(other));
    expect(configHash(one)).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(configHash(loadConfig({ ...base, TEMPERATURE: '0.2' }))).not.toBe(configHash(one));
    const text = JSON.stringify(hashedSettings(one));
    expect(text).not.toContain('secret');
    expect(text).not.toContain('hunter2');
  });

  it('a turn is truncated when its provider stopped at the token limit, in any SDK vocabulary', () => {
    expect(isTruncated('max_tokens')).toBe(true); // Anthropic
    expect(isTruncated('MAX_TOKENS')).toBe(true); // Gemini
    expect(isTruncated('length')).toBe(true); // OpenAI-compatible
    expect(isTruncated(normalizeStopReason('length'))).toBe(true);
    for (const done of ['end_turn', 'STOP', 'stop', 'stop_sequence', 'refusal', null])
      expect(isTruncated(done)).toBe(false);
  });
});
