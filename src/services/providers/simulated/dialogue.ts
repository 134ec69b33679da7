import { permute } from '../../../prompts/permutation.js';
import { TOPIC_OPEN_TAG } from '../../../prompts/topic-block.js';
import { OTHER_OPENS } from '../../../prompts/turn-request.js';
import type { ChatMessage } from '../../ports.js';
import { createRandom, hashNumber, hashString, pick } from './random.js';
import * as voice from './voices.js';

/**
 * The text generator shared by the in-process simulated provider and the fake provider server. It reads
 * the conversation it is given and writes the next turn: when the last message asks something it answers
 * like an expert, otherwise it reacts and asks a follow-up question, like a curious learner. After
 * several turns it sometimes closes the conversation politely, so natural endings happen in simulation.
 *
 * It is deterministic in (seed, request) and cheap: a few hashes and template fills per call, because
 * benchmarks drive thousands of turns per second through it.
 */

export interface DialogueRequest {
  system: string;
  messages: readonly ChatMessage[];
  maxTokens: number;
}

export interface DialogueReply {
  text: string;
  /** `max_tokens` when the text was cut to fit `maxTokens`. */
  stopReason: 'end_turn' | 'max_tokens';
  /** Which side the generator took for this turn. */
  role: 'questioner' | 'answerer';
  /** Whether this turn says goodbye. */
  closing: boolean;
}

/** Characters per token: the usual estimate for English text with BPE tokenizers. */
export const CHARS_PER_TOKEN = 4;

/** Turns before a goodbye becomes possible: earlier endings would cut conversations short of the minimum. */
export const CLOSING_MIN_MESSAGES = 8;
/** Chance of a goodbye on each turn past the minimum. */
export const CLOSING_PROBABILITY = 0.25;
/** Past this many messages the generator always wraps up, so simulated conversations end on their own. */
export const CLOSING_ALWAYS_MESSAGES = 16;

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

const STOPWORDS = new Set(
  (
    'about above after again against among another because been before being below between both could ' +
    'does doing down during each every from further have having here into itself just more most much ' +
    'must other over only same should some such than that their them then there these they this those ' +
    'through under until very what when where which while will with would your yours start conversation ' +
    'topic discuss discussion please questions question answer answers explain begin today talking'
  ).split(' '),
);

const CLOSING_PATTERN = /\b(thanks|thank you|goodbye|great (discussion|conversation|chat)|take care)\b/i;

interface TopicInfo {
  topic: string;
  keywords: string[];
}

// Topic extraction scans the first message of every call; conversations reuse it, so remember a few.
const topicCache = new Map<string, TopicInfo>();
const TOPIC_CACHE_LIMIT = 2048;

/** Content words of `text` in their original case, first occurrence only, up to `limit`. */
function keywordsOf(text: string, limit: number): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of text.split(/[^A-Za-z0-9'-]+/)) {
    const word = raw.replace(/^['-]+|['-]+$/g, '');
    if (word.length < 4) continue;
    const lower = word.toLowerCase();
    if (STOPWORDS.has(lower) || seen.has(lower)) continue;
    seen.add(lower);
    out.push(/^[A-Z][a-z]/.test(word) && out.length > 0 ? word : lower);
    if (out.length >= limit) break;
  }
  return out;
}

/** Short noun-ish phrases of the topic: adjacent content words ("solar farms") and single ones. */
function phrasesOf(topic: string): string[] {
  const phrases: string[] = [];
  const singles: string[] = [];
  let run: string[] = [];
  const flush = () => {
    for (let i = 0; i + 1 < run.length; i++) phrases.push(`${run[i]} ${run[i + 1]}`);
    if (run.length === 1 && run[0]!.length >= 5) singles.push(run[0]!);
    run = [];
  };
  const words = topic.split(/\s+/);
  words.forEach((raw, index) => {
    const word = raw.replace(/[^A-Za-z0-9'-]/g, '');
    const lower = word.toLowerCase();
    if (word.length < 3 || STOPWORDS.has(lower) || /^(the|and|for|of|in|on|a|an|to)$/i.test(word)) {
      flush();
      return;
    }
    // Only the topic's first word is capitalised by position; keep it when a proper name follows.
    const properName = index > 0 || /^[A-Z]/.test(words[1] ?? '') || /^[A-Z0-9]{2,}$/.test(word);
    run.push(properName ? word : lower);
    if (/[.,;:!?]$/.test(raw)) flush();
  });
  flush();
  // Two-word phrases read naturally in templates; lone words only when there is nothing better.
  if (phrases.length > 0) return phrases.slice(0, 8);
  return singles.length > 0 ? singles.slice(0, 6) : keywordsOf(topic, 6);
}

const LABELLED = /\btopic\s*(?:is\s*)?[:-]\s*["“']?([^"”'\n]{3,160}?)(?=[.!?](?:\s|$)|["”'\n]|$)/i;
const QUOTED = /["“]([^"”\n]{3,160})["”]/;
/** Chimera's own framing: the title between `<topic>` tags, escaped (see src/prompts/topic-block.ts). */
const TAGGED = /<topic>\s*([^<]{1,500}?)\s*<\/topic>/;

function unescapeTitle(title: string): string {
  return title.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** The subject: a `Topic: ...` label or a quotation in the system prompt or first message, else its first sentence. */
function topicOf(request: DialogueRequest): TopicInfo {
  const first = request.messages[0]?.content ?? '';
  const cacheKey = `${request.system}\u0000${first}`;
  const cached = topicCache.get(cacheKey);
  if (cached) return cached;

  const tagged = TAGGED.exec(first);
  const labelled =
    LABELLED.exec(request.system) ??
    LABELLED.exec(first) ??
    QUOTED.exec(request.system) ??
    QUOTED.exec(first);
  const sentence = first.split(/(?<=[.!?])\s|\n/)[0] ?? first;
  const subject = tagged ? unescapeTitle(tagged[1]!) : (labelled?.[1] ?? sentence);
  const topic = subject.trim().replace(/[.!?:;,]+$/, '') || 'this subject';
  const keywords = phrasesOf(topic);
  // The topic is spliced into the middle of sentences: "the rise of ...", not "The rise of ...".
  const midSentence = topic.replace(/^(The|A|An) /, (article) => article.toLowerCase());
  const info: TopicInfo = {
    topic: midSentence.length > 120 ? `${midSentence.slice(0, 117)}...` : midSentence,
    keywords: keywords.length > 0 ? keywords : ['the subject'],
  };
  if (topicCache.size >= TOPIC_CACHE_LIMIT) topicCache.clear();
  topicCache.set(cacheKey, info);
  return info;
}

const OPENING_QUESTIONS = [
  'I have been reading about {topic}. What is the most important thing to understand about it?',
  "I'd love to understand {topic} better. Where does the story really begin?",
  'Can you walk me through {topic}? What makes it matter right now?',
  "Let's talk about {topic}. What do most people get wrong about it?",
  'I keep seeing headlines about {topic}. What is actually going on there?',
];

const REACTIONS = [
  'That is a helpful way to put it.',
  'Interesting, I had not thought about {picked} in that way.',
  'That makes sense, especially the part about {picked}.',
  'Okay, so {picked} is more central than I assumed.',
  'I see. The point about {picked} surprised me.',
  'That clears up a lot for me.',
  'Fascinating. So {picked} plays a bigger role than I thought.',
  'Right, that connects to what I read about {kw}.',
];

const FOLLOW_UPS = [
  'How does {picked} affect ordinary people in practice?',
  'What would change if {kw} were handled differently?',
  'Who benefits most from this, and who carries the cost?',
  'Is there any evidence that {picked} works the way people claim?',
  'What are the strongest arguments on the other side?',
  'How did we get here? Was there a turning point for {kw}?',
  'What should someone new to {topic} keep an eye on over the next year?',
  'Could you give a concrete example involving {picked}?',
  'Where do experts still disagree about {kw}?',
  'What are the risks if {picked} goes wrong?',
  'How does this compare with similar situations elsewhere?',
  'Which part of {topic} do you think is most misunderstood?',
];

const ACKNOWLEDGEMENTS = [
  'Good question.',
  'That is a great place to dig in.',
  "It's a subtle point, so let me unpack it.",
  'There are a few layers to that.',
  'Happy to explain.',
  'The short answer is: it depends, but there is a clear pattern.',
  'People often ask about that.',
];

const EXPLANATIONS = [
  'At its core, {topic} is about trade-offs between speed, cost and reliability.',
  'The key idea is that {picked} rarely acts alone; it interacts with {kw} in ways that compound over time.',
  'Historically, changes around {kw} came in waves rather than all at once.',
  'Most of the debate comes down to how you weigh short-term gains against long-term stability.',
  'When you look at the data, {picked} tends to matter more for smaller players than for large ones.',
  'One useful way to think about it is as a feedback loop: {kw} shapes incentives, and incentives shape {kw}.',
  'The practical effect shows up in prices, timelines and who gets access first.',
  'Regulators, companies and the public each see {picked} through a different lens.',
  'It is easy to overstate the impact of a single event; the underlying trend has been building for years.',
  'The evidence so far is mixed, but the more careful studies point in a consistent direction.',
  'A lot depends on implementation details that rarely make the headlines.',
  'In the simplest terms, {picked} changes who makes decisions and how quickly.',
];

const EXAMPLES = [
  'For example, a small organisation dealing with {picked} might see the effects within months.',
  'A concrete case: when {kw} shifted a few years ago, the first signs were in local decisions.',
  'Think of it like maintaining a garden: neglect {picked} for a season and problems multiply.',
  'You can see this in how early adopters handled {kw} compared with late movers.',
  '',
  '',
];

const ANSWER_ENDINGS = [
  'I hope that helps frame it.',
  'That is the big picture, at least.',
  'So the honest answer is nuanced.',
  '',
  '',
];

const QUESTIONER_CLOSINGS = [
  'Thanks, this was a great discussion about {topic}. I learned a lot today.',
  'Thank you, that really helped me understand {topic}. Great conversation!',
  'This was really insightful, thanks for taking the time to explain {topic}. Goodbye for now!',
];

const ANSWERER_CLOSINGS = [
  'I think we have covered the main points of {topic}. Thank you for the thoughtful questions, this was a great conversation.',
  'That covers the essentials. Thanks for a great discussion, and take care!',
];

/** Replies to the other side's goodbye. */
const CLOSING_REPLIES = [
  "You're welcome! It was a pleasure discussing {topic} with you. Take care.",
  'Thank you too, this was a great conversation. Goodbye!',
  'Glad it helped. Thanks for a great discussion, and take care!',
];

function fill(template: string, topic: TopicInfo, picked: string, kw: string): string {
  return template.replace('{topic}', topic.topic).replaceAll('{picked}', picked).replaceAll('{kw}', kw);
}

/** A topic phrase the last message mentions, so replies read as answers to what was said. */
function pickedPhrase(last: string, topic: TopicInfo, random: () => number): string {
  const lower = last.length > 800 ? last.slice(0, 800).toLowerCase() : last.toLowerCase();
  const mentioned = topic.keywords.filter((phrase) => lower.includes(phrase.toLowerCase()));
  return pick(mentioned.length > 0 && random() < 0.7 ? mentioned : topic.keywords, random);
}

const QUESTIONER_HINT =
  /\b(curious|inquisitive|interviewer|learner|student|ask(s|ing)?\b[^.]{0,30}\bquestions?)\b/i;
const ANSWERER_HINT =
  /\b(expert|specialist|teacher|explain(s|ing)?|answer(s|ing)?\b[^.]{0,30}\bquestions?)\b/i;

/**
 * Which side to play: the system prompt says so when it is clear; otherwise a conversation whose last
 * message ends in a question gets an answer, and anything else gets a question.
 */
function roleOf(system: string, last: string): DialogueReply['role'] {
  const questioner = QUESTIONER_HINT.test(system);
  const answerer = ANSWERER_HINT.test(system);
  if (questioner !== answerer) return questioner ? 'questioner' : 'answerer';
  return /\?["')\]\s]*$/.test(last) ? 'answerer' : 'questioner';
}

function join(parts: string[]): string {
  return parts.filter((part) => part !== '').join(' ');
}

export interface DialogueOptions {
  /**
   * Turns between which a conversation built by Chimera's turn requests says goodbye: one of them, drawn
   * per conversation from the seed, is the closing turn (`MIN_CONVERSATION_TURNS`..`MAX_CONVERSATION_TURNS`).
   * @default DEFAULT_CLOSING_TURNS
   */
  closingTurns?: { min: number; max: number };
}

/** Chimera's default minimum and maximum turns. */
export const DEFAULT_CLOSING_TURNS = { min: 5, max: 10 } as const;

/**
 * Writes the next turn of the conversation in `request`, deterministically for `seed`. A request built by
 * Chimera (its topic between `<topic>` tags) gets a turn of a whole conversation: see
 * {@link conversationTurn}. Any other request gets a plausible reply from the last message alone.
 */
export function generateDialogue(
  request: DialogueRequest,
  seed = 1,
  options: DialogueOptions = {},
): DialogueReply {
  const first = request.messages[0]?.content ?? '';
  const reply = first.includes(TOPIC_OPEN_TAG)
    ? conversationTurn(request, seed, options)
    : genericTurn(request, seed);
  const limit = Math.max(1, request.maxTokens) * CHARS_PER_TOKEN;
  if (reply.text.length > limit)
    return { ...reply, text: reply.text.slice(0, limit), stopReason: 'max_tokens' };
  return reply;
}

/**
 * One turn of a conversation Chimera runs. The turn request says who speaks (the answerer's first message
 * carries the questioner's opening) and how many turns came before; the system prompt says the style and
 * the speaker's tone. The generator then
 *
 * - says goodbye on one turn drawn per conversation between `closingTurns.min` and `.max`, so the
 *   conversation ends naturally inside the configured range;
 * - draws its sentences through per-conversation permutations of the template lists, so no template
 *   returns within a conversation of ordinary length and the repetition check has nothing to catch;
 * - writes in the style's and the tone's templates (a debate challenges, a tutoring session checks
 *   understanding, a skeptic doubts, a novice asks for simple words).
 */
function conversationTurn(request: DialogueRequest, seed: number, options: DialogueOptions): DialogueReply {
  const { messages, system } = request;
  const last = messages.at(-1)?.content ?? '';
  const topic = topicOf(request);
  const role: DialogueReply['role'] = (messages[0]?.content ?? '').includes(OTHER_OPENS)
    ? 'answerer'
    : 'questioner';
  // The questioner's request opens with the topic alone; the answerer's shares it with the first turn.
  const turnIndex = role === 'questioner' ? messages.length - 1 : messages.length;
  const window = options.closingTurns ?? DEFAULT_CLOSING_TURNS;
  const min = Math.max(1, Math.floor(window.min));
  const max = Math.max(min, Math.floor(window.max));
  const closeAt = min - 1 + (hashNumber(0xc105e, seed) % (max - min + 1));

  const random = createRandom(hashNumber(turnIndex, hashNumber(seed, 0x7e11)));
  const picked = pickedPhrase(last, topic, random);
  let kw = pick(topic.keywords, random);
  if (kw === picked && topic.keywords.length > 1) {
    kw = topic.keywords[(topic.keywords.indexOf(kw) + 1) % topic.keywords.length]!;
  }
  const put = (template: string) => fill(template, topic, picked, kw);
  /** The k-th entry of a per-conversation shuffle of `list` (salted, so lists shuffle independently). */
  const nth = <T>(list: readonly T[], k: number, salt: number): T =>
    list[permute(k % list.length, list.length, hashNumber(salt, seed))]!;

  if (turnIndex >= closeAt) {
    const pool = role === 'answerer' ? voice.ANSWERER_CLOSINGS : voice.QUESTIONER_CLOSINGS;
    return { text: put(pick(pool, random)), stopReason: 'end_turn', role, closing: true };
  }
  const style = voice.styleOf(system);
  if (role === 'questioner') {
    if (turnIndex === 0) {
      return { text: put(pick(voice.OPENINGS[style], random)), stopReason: 'end_turn', role, closing: false };
    }
    const k = turnIndex / 2 - 1; // follow-ups so far
    const own = voice.STYLE_FOLLOW_UPS[style];
    const followUp = k < own.length ? nth(own, k, 11) : nth(voice.FOLLOW_UPS, k - own.length, 12);
    const reaction = nth(voice.REACTIONS[voice.questionerToneOf(system)], k, 13);
    return { text: join([put(reaction), put(followUp)]), stopReason: 'end_turn', role, closing: false };
  }
  const k = (turnIndex - 1) / 2; // answers so far
  const own = voice.STYLE_EXPLANATIONS[style];
  const generic = voice.EXPLANATIONS;
  const lead = k < own.length ? nth(own, k, 21) : nth(generic, generic.length - 1 - (k - own.length), 22);
  const text = join([
    nth(voice.ACKNOWLEDGEMENTS[voice.answererToneOf(system)], k, 23),
    put(lead),
    put(nth(generic, k, 22)),
    put(pick(voice.EXAMPLES, random)),
    pick(voice.ANSWER_ENDINGS, random),
  ]);
  return { text, stopReason: 'end_turn', role, closing: false };
}

/** A reply to the last message alone, for requests that are not one of Chimera's conversations. */
function genericTurn(request: DialogueRequest, seed: number): DialogueReply {
  const { messages } = request;
  const last = messages.at(-1)?.content ?? '';
  const topic = topicOf(request);

  let hash = hashNumber(seed);
  hash = hashNumber(messages.length, hash);
  hash = hashString(last, hash);
  const random = createRandom(hash);

  const role = roleOf(request.system, last);
  const picked = pickedPhrase(last, topic, random);
  let kw = pick(topic.keywords, random);
  if (kw === picked && topic.keywords.length > 1) {
    kw = topic.keywords[(topic.keywords.indexOf(kw) + 1) % topic.keywords.length]!;
  }

  const otherClosed = messages.length > 1 && CLOSING_PATTERN.test(last);
  const closing =
    otherClosed ||
    messages.length >= CLOSING_ALWAYS_MESSAGES ||
    (messages.length >= CLOSING_MIN_MESSAGES && random() < CLOSING_PROBABILITY);

  let text: string;
  if (closing) {
    const pool = otherClosed
      ? CLOSING_REPLIES
      : role === 'answerer'
        ? ANSWERER_CLOSINGS
        : QUESTIONER_CLOSINGS;
    text = fill(pick(pool, random), topic, picked, kw);
  } else if (role === 'questioner' && messages.length <= 1) {
    text = fill(pick(OPENING_QUESTIONS, random), topic, picked, kw);
  } else if (role === 'questioner') {
    text = join([
      fill(pick(REACTIONS, random), topic, picked, kw),
      fill(pick(FOLLOW_UPS, random), topic, picked, kw),
    ]);
  } else {
    const first = pick(EXPLANATIONS, random);
    let second = pick(EXPLANATIONS, random);
    if (second === first) second = EXPLANATIONS[(EXPLANATIONS.indexOf(first) + 1) % EXPLANATIONS.length]!;
    text = join([
      pick(ACKNOWLEDGEMENTS, random),
      fill(first, topic, picked, kw),
      fill(second, topic, picked, kw),
      fill(pick(EXAMPLES, random), topic, picked, kw),
      pick(ANSWER_ENDINGS, random),
    ]);
  }

  return { text, stopReason: 'end_turn', role, closing };
}
