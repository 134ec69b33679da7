/**
 * What the simulated provider reads from a system prompt, as a model would: the kind of conversation (the
 * style's "This conversation is a debate ..." sentence) and the speaker's tone (words in its persona such
 * as "skeptical", "enthusiastic", "novice", "formal"), and the template text each of them calls for.
 *
 * Placeholders: `{topic}` the topic, `{picked}` a topic phrase the last message used, `{kw}` another one.
 * No template may contain a farewell (it would end the conversation early, see `quality/natural-end.ts`),
 * a first-person "can't"/"cannot" (the refusal detector) or a question in an answer.
 */

export type StyleKind = 'interview' | 'debate' | 'tutoring' | 'casual' | 'troubleshooting' | 'brainstorm';
export type QuestionerTone = 'neutral' | 'skeptical' | 'enthusiastic' | 'novice' | 'practical' | 'formal';
export type AnswererTone = 'neutral' | 'cautious' | 'enthusiastic' | 'plain' | 'formal';

/** The style sentence the built-in styles (and any similar custom one) open with. */
const STYLE_SENTENCE = /this conversation is (?:an? )?([^.:;]{2,80})/i;

const STYLE_WORDS: ReadonlyArray<[RegExp, StyleKind]> = [
  [/debate|argument/, 'debate'],
  [/tutor|lesson|student/, 'tutoring'],
  [/troubleshoot|diagnos|problem/, 'troubleshooting'],
  [/brainstorm|ideas/, 'brainstorm'],
  [/casual|chat|informal/, 'casual'],
  [/interview/, 'interview'],
];

export function styleOf(system: string): StyleKind {
  const sentence = STYLE_SENTENCE.exec(system)?.[1]?.toLowerCase();
  if (!sentence) return 'interview';
  return STYLE_WORDS.find(([pattern]) => pattern.test(sentence))?.[1] ?? 'interview';
}

/** The persona's part of a system prompt: everything before the style sentence. */
function personaPart(system: string): string {
  const at = system.search(STYLE_SENTENCE);
  return (at === -1 ? system : system.slice(0, at)).toLowerCase();
}

export function questionerToneOf(system: string): QuestionerTone {
  const persona = personaPart(system);
  if (/skeptic|doubt|debater|opposing view/.test(persona)) return 'skeptical';
  if (/novice|first time|for the first time|learning english|lost/.test(persona)) return 'novice';
  if (/enthusias|eager|excited|passionate|playful/.test(persona)) return 'enthusiastic';
  if (/practical|little time|concrete advice/.test(persona)) return 'practical';
  if (/formal register|formal/.test(persona)) return 'formal';
  return 'neutral';
}

export function answererToneOf(system: string): AnswererTone {
  const persona = personaPart(system);
  if (/cautious|skeptic|careful/.test(persona)) return 'cautious';
  if (/enthusias|excite|vivid/.test(persona)) return 'enthusiastic';
  if (/plain-spoken|plain spoken|direct answers|short, direct/.test(persona)) return 'plain';
  if (/formal register|formal/.test(persona)) return 'formal';
  return 'neutral';
}

export const OPENINGS: Record<StyleKind, readonly string[]> = {
  interview: [
    'I have been reading about {topic}. What is the most important thing to understand about it?',
    'Can you walk me through {topic}? What makes it matter right now?',
    "Let's talk about {topic}. What do most people get wrong about it?",
  ],
  debate: [
    "I'll be honest, I think the case for {topic} is overstated. Why should anyone take it seriously?",
    'Here is my position: {topic} creates more problems than it solves. Convince me otherwise?',
    'Critics say {topic} is mostly hype. What is your strongest argument against that view?',
  ],
  tutoring: [
    'I am trying to learn about {topic} and I am stuck at the basics. Where should I start?',
    'My assignment is on {topic}, and I only half understand it. What is the core idea?',
    'Could you teach me {topic} from the ground up, assuming I know very little?',
  ],
  casual: [
    'So I saw something about {topic} the other day and got curious. What is your take on it?',
    'Random thought, but {topic} keeps coming up lately. Have you been following it?',
    'Okay, {topic}: is it as big a deal as everyone makes it sound?',
  ],
  troubleshooting: [
    'I have a problem with {topic}: things stopped working the way they should last week. What should I check first?',
    'Something is going wrong with {picked} on my side, and I have already restarted everything. Where would you begin?',
    'We keep running into trouble with {topic} and the usual fixes did nothing. What is the most likely cause?',
  ],
  brainstorm: [
    'I want to brainstorm ideas around {topic}. What directions seem most promising to you?',
    'Suppose we had a free hand with {topic}. What would you try first?',
    "Let's throw some ideas around about {topic}. Where do you see untapped potential?",
  ],
};

/** Follow-ups any style can use. */
export const FOLLOW_UPS: readonly string[] = [
  'How does {picked} affect ordinary people in practice?',
  'What would change if {kw} were handled differently?',
  'Who benefits most from this, and who carries the cost?',
  'What are the strongest arguments on the other side?',
  'How did we get here? Was there a turning point for {kw}?',
  'Could you give a concrete example involving {picked}?',
  'Where do experts still disagree about {kw}?',
  'What are the risks if {picked} goes wrong?',
  'How does this compare with similar situations elsewhere?',
  'Which part of {topic} do you think is most misunderstood?',
];

export const STYLE_FOLLOW_UPS: Record<StyleKind, readonly string[]> = {
  interview: [
    'What first drew you to working on {kw}?',
    'If you had to explain {picked} to a newcomer in one minute, what would you say?',
    'What result or finding about {kw} surprised you the most?',
  ],
  debate: [
    "But doesn't the evidence on {picked} point the other way?",
    "Isn't that exactly the argument people made about {kw} before it disappointed?",
    'Why should the burden of proof fall on the critics of {picked}?',
    'Even granting that, how do you answer the objection about cost?',
  ],
  tutoring: [
    'So if I understand you, {picked} works a bit like a chain reaction. Is that right?',
    'Could you check my reasoning: {kw} causes the change, and the rest follows from it?',
    'What is a good exercise to test whether I really understand {picked}?',
    'Which mistake do beginners make most often with {kw}?',
  ],
  casual: [
    'Ha, that reminds me of something a friend said about {kw}. Is that a common experience?',
    'Honestly, would you personally worry about {picked}?',
    'Do you think most people even notice {kw} in their day-to-day life?',
  ],
  troubleshooting: [
    'I checked {picked} and it looks normal. What should I look at next?',
    'The logs mention {kw} right before it fails. Does that narrow it down?',
    'I tried the change you suggested and the symptom moved elsewhere. What does that tell us?',
    'Could a setting around {kw} cause this, or is it more likely the hardware?',
  ],
  brainstorm: [
    'What if we combined {picked} with {kw}? Would that open anything up?',
    'Which of these ideas could we test cheaply next month?',
    'What is the wildest idea about {kw} that might still work?',
  ],
};

export const REACTIONS: Record<QuestionerTone, readonly string[]> = {
  neutral: [
    'That is a helpful way to put it.',
    'Interesting, I had not thought about {picked} in that way.',
    'That makes sense, especially the part about {picked}.',
    'I see. The point about {picked} is new to me.',
    'Right, that connects to what I read about {kw}.',
  ],
  skeptical: [
    'I am not fully convinced by that.',
    'Hmm, that sounds neat on paper, but I have doubts about {picked}.',
    'Maybe, though I have seen the same claim about {kw} fall apart before.',
    'That is the official line, yet the evidence on {picked} looks thinner to me.',
    'Fair enough, although I suspect the story about {kw} is messier.',
  ],
  enthusiastic: [
    'Oh, that is fascinating!',
    'Wow, I love the bit about {picked}.',
    'That is so cool, I had no idea {kw} worked like that.',
    'Amazing, this is exactly the kind of detail I was hoping for.',
    'Oh nice, {picked} sounds even more interesting now.',
  ],
  novice: [
    'Sorry, I am still a bit lost, but I think I follow the part about {picked}.',
    'Okay, slowly: {picked} is the main idea here?',
    'I did not know the word {kw} before, so that helps.',
    'Let me say it back in simple words: {picked} matters most.',
    'That is clearer now, thank you for keeping it simple.',
  ],
  practical: [
    'Okay, that is useful to know.',
    'Good, so {picked} is where the money goes.',
    'Right, I can work with that.',
    'That helps me decide what to do about {kw}.',
    'Fine, the practical part about {picked} is what I needed.',
  ],
  formal: [
    'That is a helpful clarification.',
    'I appreciate the distinction you draw regarding {picked}.',
    'Noted; the point concerning {kw} is well taken.',
    'That is consistent with what the literature on {picked} suggests.',
    'Thank you, that clarifies the position on {kw}.',
  ],
};

export const ACKNOWLEDGEMENTS: Record<AnswererTone, readonly string[]> = {
  neutral: [
    'Good question.',
    'There are a few layers to that.',
    'Happy to explain.',
    'People often ask about that.',
  ],
  cautious: [
    'I would be careful with simple answers here.',
    'The honest answer is that the evidence is still incomplete.',
    'It is worth separating what is known from what is assumed.',
    'Let me be precise, because this is often overstated.',
  ],
  enthusiastic: [
    'Oh, this is one of my favourite parts!',
    'Great question, and the answer is genuinely exciting.',
    'I love talking about this.',
    'This is where it gets really interesting.',
  ],
  plain: [
    'Short version first.',
    'Straight answer.',
    'Here is how it really goes.',
    'No jargon needed for this one.',
  ],
  formal: [
    'That is an important question.',
    'Allow me to set out the main considerations.',
    'The question admits a structured answer.',
    'It is useful to begin with the established position.',
  ],
};

/** Explanations any style can use. */
export const EXPLANATIONS: readonly string[] = [
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

export const STYLE_EXPLANATIONS: Record<StyleKind, readonly string[]> = {
  interview: [
    'In my own work, the turning point came when we started measuring {picked} directly instead of guessing.',
    'What experience teaches is that {kw} behaves differently at scale than in small pilots.',
  ],
  debate: [
    'I grant that critics have a point about cost, yet the balance of evidence still favours my position.',
    'Your objection assumes {picked} stays fixed, and that assumption is exactly what fails in practice.',
    'The strongest counter-argument is about {kw}, and I concede it carries real weight in the short run.',
  ],
  tutoring: [
    'Let us build it step by step: first {picked}, then how {kw} follows from it.',
    'Your summary is almost right; the one correction is that {kw} is an effect, not the cause.',
    'A good check is to predict what happens to {picked} when you change one thing and see if you were right.',
  ],
  casual: [
    'Honestly, most people only notice {picked} when it suddenly costs them something.',
    'A neighbour of mine ran into exactly this with {kw} last year, and it changed how she saw it.',
  ],
  troubleshooting: [
    'The first thing to rule out is {picked}, because it causes most of the cases I see.',
    'If the symptom moves when you change {kw}, the fault is upstream of it, not inside it.',
    'Check the settings around {picked} against the defaults; a single changed value explains many of these failures.',
  ],
  brainstorm: [
    "One promising direction is pairing {picked} with {kw}, since each covers the other's weakness.",
    'A cheap experiment would be a small pilot around {kw} with a clear measure of success.',
    "The bolder idea is to rethink {picked} from the user's side rather than the supplier's.",
  ],
};

export const EXAMPLES: readonly string[] = [
  'For example, a small organisation dealing with {picked} might see the effects within months.',
  'A concrete case: when {kw} shifted a few years ago, the first signs were in local decisions.',
  'Think of it like maintaining a garden: neglect {picked} for a season and problems multiply.',
  'You can see this in how early adopters handled {kw} compared with late movers.',
  '',
  '',
];

export const ANSWER_ENDINGS: readonly string[] = [
  'I hope that helps frame it.',
  'That is the big picture, at least.',
  'So the honest answer is nuanced.',
  '',
  '',
];

/** Closings that the natural-ending detector recognises; none ends on a question. */
export const QUESTIONER_CLOSINGS: readonly string[] = [
  'Thanks, this was a great discussion about {topic}. I learned a lot today.',
  'Thank you, that really helped me understand {topic}. Great conversation, goodbye for now!',
  'This was really insightful, thanks for taking the time to explain {topic}. Goodbye for now!',
  'I think we can wrap up here. Thank you for the thoughtful conversation, take care!',
];

export const ANSWERER_CLOSINGS: readonly string[] = [
  'I think we have covered the main points of {topic}. Thank you for the thoughtful questions, this was a great conversation.',
  'That covers the essentials. Thanks for a great discussion, and take care!',
  'I think this is a good place to stop. It was a pleasure talking with you, goodbye!',
];
