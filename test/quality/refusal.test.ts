import { describe, expect, it } from 'vitest';
import { detectRefusal } from '../../src/quality/refusal.js';

describe('detectRefusal', () => {
  it.each([
    'As an AI language model, I do not have personal opinions about nuclear power.',
    'I cannot help with that.',
    'I’m sorry, but I can’t continue this conversation.',
    'I am unable to provide medical diagnoses.',
    'I apologize, but I cannot assist with this request.',
    'As an AI, I don’t have feelings about this topic.',
    'I’m just an AI, so I can’t say what doctors will decide.',
    'Sorry, I won’t write that.',
    'That is an interesting question. Unfortunately, I am not able to participate in a discussion of this kind.',
    'Interesting point about the grid. Renewables are growing. I’m sorry, but I can’t go along with that request.',
  ])('recognises the refusal "%s"', (text) => {
    expect(detectRefusal(text)).toBe(true);
  });

  it.each([
    'The AI model cannot yet reliably detect early-stage tumours on low-dose CT, so radiologists still review every scan.',
    'Current AI systems can’t explain their reasoning, which is why regulators are cautious about autonomous diagnosis.',
    'I can’t help but wonder whether hospitals will trust these tools without clear audit trails.',
    'I cannot stress enough how much data quality matters for diagnostic models.',
    'I can’t provide exact figures for every country, but global battery storage roughly doubled last year.',
    'As an AI researcher put it recently, the hard part is deployment, not accuracy.',
    'An AI language model trained on clinical notes can summarise a patient history in seconds.',
    'Radiologists say the software is unable to provide a reason for each flag, which frustrates them.',
    'Solar is cheap now. Storage is the bottleneck. Policy matters. Grids are slow to change. I cannot provide a single answer for every country; it depends on the grid.',
  ])('does not take a discussion for a refusal: "%s"', (text) => {
    expect(detectRefusal(text)).toBe(false);
  });
});
