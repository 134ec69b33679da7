/**
 * English function words. A phrase made only of these ("one of the", "it is a", "as well as") recurs in
 * any long conversation without anyone repeating themselves, so repetition measures ignore such phrases.
 * English only because the conversations are; for other languages the measures stay correct, only a
 * little stricter.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  `a about above after again against all also am an and any are aren't as at be because been before being
below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during
each even few for from further had hadn't has hasn't have haven't having he her here hers herself him himself
his how i i'd i'll i'm i've if in into is isn't it it's its itself just let's like may me might more most much
must my myself no nor not now of off on once one only or other our ours ourselves out over own quite rather really
same she should shouldn't so some such than that that's the their theirs them themselves then there there's
these they they're this those through to too under until up very was wasn't we we're we've well were weren't
what what's when where which while who whom why will with won't would wouldn't yes yet you you're you've your
yours yourself yourselves`.split(/\s+/),
);

export function isStopword(word: string): boolean {
  return STOPWORDS.has(word);
}
