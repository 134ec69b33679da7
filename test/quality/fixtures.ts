import type { Speaker, Turn } from '../../src/events.js';

/**
 * Short realistic conversations of the kind Chimera generates, used by the quality tests.
 * Each is a list of texts; questioner first, then strict alternation.
 */

/** Varied: every answer brings new facts, every question builds on the last answer. */
export const RENEWABLE_ENERGY: readonly string[] = [
  'What has driven the dramatic fall in the cost of solar power over the last decade?',
  'Mostly manufacturing scale. As factories in China and elsewhere grew from megawatts to tens of gigawatts of annual output, the price of a panel fell by roughly ninety percent. Better cell designs such as PERC and now TOPCon squeezed more electricity out of each square metre, and cheaper financing lowered the cost of building large solar farms.',
  'If panels are so cheap now, what stops grids from running on solar alone?',
  'Timing is the real obstacle. Solar output peaks at midday and vanishes at night, while demand in many countries peaks in the early evening. California shows the problem clearly: operators curtail surplus generation in spring afternoons and then ramp gas plants hard after sunset. Without storage or flexible demand, extra panels mostly add power when it is least needed.',
  'How much are batteries actually helping with that evening gap today?',
  'Quite a lot, and faster than most forecasts expected. Lithium iron phosphate packs installed next to solar farms now shift several gigawatts from afternoon into the evening in California and Texas. They typically hold four hours of output, which covers the evening ramp but not a windless week in winter, so seasonal storage remains an open question.',
  'What options exist for those longer winter gaps, then?',
  'Several, none of them cheap yet. Pumped hydro works where geography allows it, iron-air batteries promise days of storage at low cost, and hydrogen made from surplus electricity could be burned in turbines. Interconnectors also help, because a cold still week in Germany is often windy in Spain or Scotland, so sharing reserves across borders reduces how much storage each country must build.',
];

/** The answerer keeps restating its first answer with small changes. */
export const HEALTHCARE_REPETITIVE: readonly string[] = [
  'How is artificial intelligence changing the way radiologists read medical scans?',
  'Artificial intelligence helps radiologists by flagging suspicious regions on medical scans, so that the radiologist can review the most urgent cases first and spend less time on normal images. It does not replace the radiologist, but it acts as a second reader that catches findings a tired human might miss.',
  'Are there risks in relying on those systems in busy hospitals?',
  'Artificial intelligence helps radiologists by flagging suspicious regions on medical scans, so the radiologist can review the most urgent cases first and spend less time on normal images. It acts as a second reader that catches findings a tired human might miss, which is why it does not replace the radiologist.',
  'What about patients, do they trust a diagnosis that involved software?',
  'As I said, artificial intelligence helps radiologists by flagging suspicious regions on medical scans so the most urgent cases are reviewed first and less time is spent on normal images. The system acts as a second reader that catches findings a tired human might miss, and it does not replace the radiologist.',
];

/** Varied healthcare conversation, the contrast to {@link HEALTHCARE_REPETITIVE}. */
export const HEALTHCARE_VARIED: readonly string[] = [
  'How is artificial intelligence changing the way radiologists read medical scans?',
  'Mostly as a triage layer. Software trained on millions of chest X-rays and mammograms flags images that look abnormal so they jump the queue, and some hospitals in Sweden use it as the second reader in breast screening, which halves the number of radiologists needed per scan without missing more cancers.',
  'Are there risks in relying on those systems in busy hospitals?',
  'Yes. Models can quietly degrade when a hospital changes scanner vendors or imaging protocols, because the pixels no longer look like the training data. There is also automation bias: studies show clinicians accept a wrong suggestion more often when it comes from a machine, so audits and ongoing monitoring matter as much as the initial accuracy figures.',
  'What about patients, do they trust a diagnosis that involved software?',
  'Surveys suggest most patients accept it when a doctor stays accountable and explains the result. Trust drops sharply if people feel the decision was made by an opaque system with nobody to question. Regulators in Europe therefore require human oversight for high-risk medical tools under the AI Act.',
];

/** Turns as the conversation machine records them, for `computeQuality`. */
export function asTurns(texts: readonly string[], latencyMs = 800): Turn[] {
  return texts.map((text, index) => {
    const speaker: Speaker = index % 2 === 0 ? 'questioner' : 'answerer';
    return {
      index,
      speaker,
      provider: 'simulated',
      model: 'simulated-1',
      text,
      usage: { inputTokens: 100 + index * 50, outputTokens: 60 },
      latencyMs,
      attempts: 1,
      requestId: `req-${index}`,
      at: 1_700_000_000_000 + index * 1000,
    };
  });
}
