/**
 * The judge's rubric and the shape of its answer. The answer's JSON Schema, sent to the provider as its
 * structured output, is derived from the same zod schema that validates the answer, so the two cannot
 * drift apart.
 */
import { z } from 'zod';
import { JUDGE_CRITERIA, JUDGE_RATIONALE_MAX, type JudgeCriterion, type JudgeScores } from '../events.js';
import type { StructuredOutput } from '../services/ports.js';

/** What each criterion asks; shown to the judge and documented in docs/dataset.md. */
export const RUBRIC: Record<JudgeCriterion, string> = {
  coherence: 'Each turn follows from the ones before; the conversation holds together as a whole.',
  helpfulness: 'The answers give the asker something useful: specific, correct for the question, complete.',
  factualCare: 'Claims are accurate or hedged where uncertain; nothing is invented with false confidence.',
  naturalness: 'It reads like two people talking: varied phrasing, no boilerplate, no repeated lines.',
  onTopic: 'The conversation stays with its topic and does not drift or pad.',
};

/** A rationale longer than the record keeps is cut, not refused: the scores are still worth having. */
const rationale = z.string().transform((text) => text.trim().slice(0, JUDGE_RATIONALE_MAX));

const criterionAnswer = z.object({ score: z.number().int().min(1).max(5), rationale });

/** The judge's answer, as the provider must return it. */
export const judgementAnswerSchema = z.object({
  ...(Object.fromEntries(JUDGE_CRITERIA.map((c) => [c, criterionAnswer])) as {
    [K in JudgeCriterion]: typeof criterionAnswer;
  }),
  rationale,
});

export type JudgementAnswer = z.output<typeof judgementAnswerSchema>;

/** Closes every object (`additionalProperties: false`), as OpenAI's strict structured output requires. */
function closed(schema: Record<string, unknown>): Record<string, unknown> {
  if (schema.type !== 'object') return schema;
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  return {
    ...schema,
    properties: Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, closed(v)])),
    additionalProperties: false,
  };
}

const JSON_SCHEMA = (() => {
  // The input side: what the provider sends, before the rationale is cut to length.
  const { $schema: _dialect, ...schema } = z.toJSONSchema(judgementAnswerSchema, { io: 'input' }) as Record<
    string,
    unknown
  >;
  return closed(schema);
})();

/** The structured-output request every adapter turns into its SDK's form. */
export const JUDGEMENT_OUTPUT: StructuredOutput = {
  name: 'record_judgement',
  description: 'Records the scores (1-5) and short rationales of one conversation against the rubric.',
  schema: JSON_SCHEMA,
};

/** Mean of the criterion scores, two decimals. */
export function overallScore(scores: JudgeScores): number {
  const sum = JUDGE_CRITERIA.reduce((total, c) => total + scores[c].score, 0);
  return Math.round((sum / JUDGE_CRITERIA.length) * 100) / 100;
}
