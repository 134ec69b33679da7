import { describe, expect, it } from 'vitest';
import { detectNaturalEnd } from '../../src/quality/natural-end.js';

describe('detectNaturalEnd', () => {
  it.each([
    'Thanks for the great discussion!',
    'That makes a lot of sense. Thank you so much for this fascinating conversation.',
    'It was a pleasure talking with you about renewable energy. Goodbye!',
    'I think that covers it. Let’s wrap up here: thank you, and take care.',
    'Wonderful. I have really enjoyed our conversation today, and I hope listeners found it useful.',
    'Indeed, storage is the key piece. It has been a real pleasure discussing this with you. Until next time!',
    'Thank you for having me. Have a great day.',
    'Great questions throughout. This has been a truly illuminating discussion. Take care of yourself.',
    '**Goodbye**, and thanks again.',
  ])('recognises the closing "%s"', (text) => {
    expect(detectNaturalEnd(text)).toBe(true);
  });

  it.each([
    'Thank you for the question, let me explain how heat pumps work. They move heat rather than making it, which is why they deliver three units of heat for each unit of electricity.',
    'Many countries are ready to say goodbye to coal within a decade, but gas is harder to replace.',
    'Installers should take care to size the battery for the evening peak rather than the daily total.',
    'Utilities must take care of ageing transmission lines before adding more wind farms.',
    'It is a pleasure to explain this: a wind turbine’s output rises with the cube of the wind speed.',
    'The farewell tour of the last coal plant in Britain took place in 2024, when Ratcliffe-on-Soar closed.',
    'Thank you for this conversation so far. It has been a fascinating discussion, but I want to push on one point. How do we pay for the grid upgrades? Who should bear the cost? Consumers or taxpayers?',
    'Thanks for the great chat! Before we finish, what is the one policy you would change tomorrow?',
    'What would a fair transition look like for coal workers?',
  ])('does not take an ordinary turn for a closing: "%s"', (text) => {
    expect(detectNaturalEnd(text)).toBe(false);
  });

  it('ignores courtesy at the start of a long answer that goes on explaining', () => {
    const text =
      'Thank you for such a wonderful discussion of these questions so far. Now, on grid storage. Pumped hydro still provides most of the world’s storage capacity. Batteries are catching up fast. Hydrogen remains expensive for now.';
    expect(detectNaturalEnd(text)).toBe(false);
  });

  it('is false for an empty turn', () => {
    expect(detectNaturalEnd('')).toBe(false);
  });
});
