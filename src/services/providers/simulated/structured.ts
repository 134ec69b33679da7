/**
 * A JSON value that matches a JSON Schema, drawn deterministically from a seed: what the simulated provider
 * and the fake provider server answer to a structured-output request. It covers the subset Chimera's
 * schemas use (objects with properties, integers and numbers with bounds, strings with a length cap,
 * arrays, enums); Gemini's upper-case `type` names are read too.
 */
import type { JsonSchema } from '../../ports.js';
import { createRandom } from './random.js';

const PHRASES = [
  'The replies stay on the question and build on each other.',
  'Claims are hedged where the facts are uncertain.',
  'The tone reads like two people talking, not a form.',
  'A few answers repeat earlier points.',
  'Specific, useful detail in most turns.',
];

/** Most nesting followed: a self-referencing schema stops here instead of recursing forever. */
const MAX_DEPTH = 8;

export function sampleJson(schema: JsonSchema, seed: number): unknown {
  return sample(schema, createRandom(seed), 0);
}

function sample(schema: JsonSchema, random: () => number, depth: number): unknown {
  if (depth > MAX_DEPTH) return null;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return schema.enum[Math.floor(random() * schema.enum.length)];
  }
  const type = String(schema.type ?? (schema.properties ? 'object' : 'string')).toLowerCase();
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const out: Record<string, unknown> = {};
      for (const [key, inner] of Object.entries(properties)) out[key] = sample(inner, random, depth + 1);
      return out;
    }
    case 'array': {
      const items = (schema.items ?? {}) as JsonSchema;
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      return Array.from({ length: Math.max(min, 1) }, () => sample(items, random, depth + 1));
    }
    case 'integer':
    case 'number': {
      const min = typeof schema.minimum === 'number' ? schema.minimum : 0;
      const max = typeof schema.maximum === 'number' ? schema.maximum : min + 10;
      const value = min + random() * (max - min);
      return type === 'integer' ? Math.min(max, Math.max(min, Math.round(value))) : value;
    }
    case 'boolean':
      return random() < 0.5;
    default: {
      const text = PHRASES[Math.floor(random() * PHRASES.length)]!;
      const cap = typeof schema.maxLength === 'number' ? schema.maxLength : text.length;
      return text.slice(0, cap);
    }
  }
}
