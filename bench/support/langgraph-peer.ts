/**
 * The peer: the same two-sided, fixed-length conversation written the way LangGraph.js documents it. A
 * `StateGraph` over `MessagesAnnotation` with two nodes that take turns (each calls its chat model with
 * its own system prompt and the conversation from its own side), a conditional edge that ends the graph
 * after `maxTurns` messages, and a checkpointer with one thread per conversation: `MemorySaver`, or the
 * durable `PostgresSaver` (`@langchain/langgraph-checkpoint-postgres`) on a real PostgreSQL server. The
 * chat model is a `BaseChatModel` that answers at once (or after `latencyMs`) with text from the same
 * generator as Chimera's simulated provider, so both sides move text of the same size.
 */
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage, HumanMessage, SystemMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import {
  type BaseCheckpointSaver,
  END,
  MemorySaver,
  MessagesAnnotation,
  START,
  StateGraph,
} from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import pg from 'pg';
import type { ChatMessage } from '../../src/services/ports.js';
import { generateDialogue } from '../../src/services/providers/simulated/dialogue.js';

type Side = 'questioner' | 'answerer';

const PERSONAS: Record<Side, string> = {
  questioner:
    'You are a curious, well-read person exploring a topic. Ask one thoughtful question at a time and react to the answers.',
  answerer:
    'You are a knowledgeable expert. Answer clearly and concretely, with examples, in a few sentences.',
};

/** An instant chat model (optionally with a fixed latency) over Chimera's dialogue generator. */
class FakeDialogueChatModel extends BaseChatModel {
  constructor(
    private readonly latencyMs: number,
    private readonly onReply: () => void,
  ) {
    super({});
  }

  _llmType(): string {
    return 'fake-dialogue';
  }

  async _generate(messages: BaseMessage[]): Promise<ChatResult> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const system = messages.filter((m) => m.type === 'system').map((m) => String(m.content));
    const chat: ChatMessage[] = messages
      .filter((m) => m.type !== 'system')
      .map((m) => ({ role: m.type === 'ai' ? 'assistant' : 'user', content: String(m.content) }));
    const reply = generateDialogue({ system: system.join('\n\n'), messages: chat, maxTokens: 1024 }, 1);
    this.onReply();
    return { generations: [{ text: reply.text, message: new AIMessage(reply.text) }] };
  }
}

export interface PeerOptions {
  maxTurns: number;
  /** Model latency. @default 0 */
  latencyMs?: number;
  /** Called after every model reply (to count calls per second). @default nothing */
  onReply?: () => void;
  /** Where checkpoints go. @default a `MemorySaver` */
  checkpointer?: BaseCheckpointSaver;
}

export interface PeerGraph {
  /** Runs one conversation on its own thread; resolves to the number of turns made. */
  converse(threadId: string, topic: string, signal?: AbortSignal): Promise<number>;
}

/** Builds the compiled graph once; conversations are separate threads of the one checkpointer. */
export function buildPeerGraph(options: PeerOptions): PeerGraph {
  const model = new FakeDialogueChatModel(options.latencyMs ?? 0, options.onReply ?? (() => {}));

  /** Each side sees its own turns as AI messages and the other side's as human messages. */
  const node = (side: Side) => async (state: typeof MessagesAnnotation.State) => {
    const [opening, ...turns] = state.messages;
    const view: BaseMessage[] = [
      new SystemMessage(PERSONAS[side]),
      new HumanMessage(String(opening?.content)),
    ];
    for (const turn of turns) {
      const content = String(turn.content);
      view.push(turn.name === side ? new AIMessage(content) : new HumanMessage(content));
    }
    const reply = await model.invoke(view);
    return { messages: [new AIMessage({ content: String(reply.content), name: side })] };
  };

  const turnsOf = (state: typeof MessagesAnnotation.State) => state.messages.length - 1;
  const graph = new StateGraph(MessagesAnnotation)
    .addNode('questioner', node('questioner'))
    .addNode('answerer', node('answerer'))
    .addEdge(START, 'questioner')
    .addConditionalEdges('questioner', (s) => (turnsOf(s) >= options.maxTurns ? END : 'answerer'))
    .addConditionalEdges('answerer', (s) => (turnsOf(s) >= options.maxTurns ? END : 'questioner'))
    .compile({ checkpointer: options.checkpointer ?? new MemorySaver() });

  return {
    async converse(threadId, topic, signal) {
      const result = await graph.invoke(
        {
          messages: [
            new HumanMessage(`The topic of this conversation is: "${topic}". Start the conversation.`),
          ],
        },
        { configurable: { thread_id: threadId }, recursionLimit: options.maxTurns * 2 + 10, signal },
      );
      return result.messages.length - 1;
    },
  };
}

/** Runs `count` conversations with at most `concurrency` at once; resolves to the turns made. */
export async function runPeer(
  graph: PeerGraph,
  count: number,
  concurrency: number,
  label: string,
  topicOf: (i: number) => string,
): Promise<number> {
  let next = 0;
  let turns = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const made = await graph.converse(`${label}-${i}`, topicOf(i));
      turns += made;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return turns;
}

/** PostgreSQL the durable peer checkpoints to. @default the local server, database `test` */
export const PEER_POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/test';

/**
 * LangGraph.js's durable checkpointer on PostgreSQL, in a schema of its own dropped first, so a run
 * starts from empty tables. Its Redis checkpointer needs the RedisJSON and RediSearch modules (Redis
 * Stack), which a plain Redis 7 server does not have; its SQLite one needs better-sqlite3, whose current
 * major needs Node 22. PostgreSQL is what Debian gives this machine.
 */
export async function postgresCheckpointer(
  schema: string,
): Promise<{ saver: BaseCheckpointSaver; close(): Promise<void> }> {
  const pool = new pg.Pool({ connectionString: PEER_POSTGRES_URL, max: 10 });
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  const saver = new PostgresSaver(pool, undefined, { schema });
  await saver.setup();
  return { saver, close: () => pool.end() };
}
