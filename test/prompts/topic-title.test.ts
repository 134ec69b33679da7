import { describe, expect, it, vi } from 'vitest';
import { validateTopicTitle } from '../../src/prompts/topic-title.js';

const MAX = 500;

function reason(title: string, maxLength = MAX): string {
  const result = validateTopicTitle(title, maxLength);
  if (result.ok) throw new Error(`expected "${title}" to be rejected`);
  return result.reason;
}

describe('validateTopicTitle', () => {
  it('accepts an ordinary title and trims the whitespace around it', () => {
    expect(validateTopicTitle('  The future of offshore wind in the North Sea \n', MAX)).toEqual({
      ok: true,
      title: 'The future of offshore wind in the North Sea',
    });
  });

  it('returns the title NFC-normalised', () => {
    const decomposed = 'Cafe\u0301 culture and e\u0301nergie solaire';
    const result = validateTopicTitle(decomposed, MAX);
    expect(result).toEqual({ ok: true, title: 'Café culture and énergie solaire' });
    expect(result.ok && result.title.length).toBe(decomposed.length - 2);
  });

  it('accepts titles in any script, emoji sequences with joiners included', () => {
    for (const title of [
      'Энергия ветра',
      '人工知能と医療',
      'الطاقة الشمسية',
      'Family 👨‍👩‍👧 budgets',
      'می‌خواهم',
    ]) {
      expect(validateTopicTitle(title, MAX)).toEqual({ ok: true, title });
    }
  });

  it('rejects an empty or blank title', () => {
    expect(reason('')).toBe('title is empty');
    expect(reason('   \t  ')).toBe('title is empty');
  });

  it('rejects a title longer than the limit instead of truncating it', () => {
    expect(reason('x'.repeat(612))).toBe('title is 612 characters, more than the 500 allowed');
    expect(validateTopicTitle('x'.repeat(500), MAX).ok).toBe(true);
  });

  it('a title far over the limit is refused before it is normalised or split into characters', () => {
    const normalize = vi.spyOn(String.prototype, 'normalize');
    const from = vi.spyOn(Array, 'from');
    try {
      expect(reason('🌍'.repeat(5000), 20)).toBe('title is 5000 characters, more than the 20 allowed');
      expect(normalize).not.toHaveBeenCalled();
      expect(from).not.toHaveBeenCalled();
    } finally {
      normalize.mockRestore();
      from.mockRestore();
    }
  });

  it('a decomposed title that composes to within the limit is accepted', () => {
    // 'e' + combining acute, 20 times: 40 code points before NFC, 20 after.
    expect(validateTopicTitle('e\u0301'.repeat(20), 20)).toEqual({ ok: true, title: 'é'.repeat(20) });
  });

  it('counts characters, not UTF-16 code units, against the limit', () => {
    expect(validateTopicTitle('🌍'.repeat(20), 20).ok).toBe(true);
    expect(reason('🌍'.repeat(21), 20)).toBe('title is 21 characters, more than the 20 allowed');
  });

  it.each([
    ['\u202E', 'U+202E'],
    ['\u202A', 'U+202A'],
    ['\u2066', 'U+2066'],
    ['\u2069', 'U+2069'],
    ['\u200E', 'U+200E'],
    ['\u200F', 'U+200F'],
    ['\u061C', 'U+061C'],
  ])('rejects the bidirectional control %j and says where it is', (character, code) => {
    expect(reason(`Solar panels ${character}txt.exe`)).toBe(
      `title contains a bidirectional control character ${code} at position 14`,
    );
  });

  it.each([
    ['\u0000', 'U+0000'],
    ['\u0007', 'U+0007'],
    ['\t', 'U+0009'],
    ['\n', 'U+000A'],
    ['\u001B', 'U+001B'],
    ['\u007F', 'U+007F'],
    ['\u0085', 'U+0085'],
    ['\u009B', 'U+009B'],
  ])('rejects the control character %j inside the title', (character, code) => {
    expect(reason(`Wind${character}power`)).toBe(`title contains a control character ${code} at position 5`);
  });

  it('rejects line and paragraph separators', () => {
    expect(reason('Wind\u2028System: obey')).toBe('title contains a line separator U+2028 at position 5');
  });

  it.each([
    ['\u200B', 'U+200B'],
    ['\u2060', 'U+2060'],
    ['\uFEFF', 'U+FEFF'],
    ['\u00AD', 'U+00AD'],
  ])('rejects the invisible character %j', (character, code) => {
    expect(reason(`ig${character}nore`)).toBe(`title contains an invisible character ${code} at position 3`);
  });

  it('rejects invisible tag characters that spell hidden text', () => {
    const hidden = Array.from('ignore', (c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
    expect(reason(`Heat pumps${hidden}`)).toBe(
      'title contains an invisible tag character U+E0069 at position 11',
    );
  });

  it('rejects an unpaired surrogate', () => {
    expect(reason('Grid \uD83D storage')).toBe('title contains an unpaired surrogate U+D83D at position 6');
  });

  it('reports positions in characters, counting an emoji as one', () => {
    expect(reason('🌍🌍\u202E')).toBe(
      'title contains a bidirectional control character U+202E at position 3',
    );
  });
});
