import type { Consumer, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { ApplyOutcome } from '../app/apply.ts';
import type { TraceCarrier } from '../app/tracing.ts';
import { INBOUND_TOPICS, InboundMessage } from '../machines/events.ts';
import type { ClassEventOutcome } from '../app/class-events.ts';
import type { SlotEventOutcome } from '../app/slot-events.ts';
import type { ConsumedOutcome } from '../ops/kafka-metrics.ts';

/** Where one message came from: what every log line and dead letter names. */
export interface MessageOrigin {
  topic: string;
  partition: number;
  offset: string;
}

/** One handled message, for logs and metrics. */
export interface ConsumedMessage extends MessageOrigin {
  outcome: ConsumedOutcome;
  event_id: string | null;
  batch_id: string | null;
  /** Why it was refused, dead-lettered or retried. */
  reason?: string;
  /** Messages behind the partition's high watermark after this one. */
  lag?: number;
}

export interface KafkaConsumerOptions {
  kafka: Kafka;
  groupId: string;
  /** The topics to subscribe to; every topic the service consumes (machines/events.ts) by default. */
  topics?: readonly string[];
  deadLetterTopic: string;
  /** A connected producer for dead letters (the relay's, when it runs). */
  producer: Producer;
  /** The application's inbound verb, as POST /v1/events calls it. */
  apply(envelope: InboundMessage, transportTrace: TraceCarrier | undefined): Promise<ApplyOutcome | ClassEventOutcome | SlotEventOutcome>;
  sessionTimeoutMs?: number;
  /** Partitions handled at once; one partition is always handled in order. */
  partitionsConsumedConcurrently?: number;
  /** Back-off after a transient failure, doubling from `initialMs` up to `maxMs` per partition. */
  backoff?: { initialMs: number; maxMs: number };
  onMessage?(message: ConsumedMessage): void;
  /** The partitions this process holds, after each join of the group (0 after a crash). */
  onAssignment?(partitions: number): void;
  /** Test seam: runs after the application answered and before the offset is committed. */
  beforeCommit?(message: ConsumedMessage): void | Promise<void>;
}

/** The state /readyz reports. */
export type ConsumerState = 'connecting' | 'joined' | 'rebalancing' | 'crashed' | 'stopped';

type Verdict =
  | { kind: 'commit'; outcome: 'applied' | 'duplicate' | 'refused'; reason?: string }
  | { kind: 'dead_letter'; reason: string; errors: string[] };

const POISON_ERRORS_SHOWN = 20;

/**
 * The value of a message as the application sees it, or why it is poison: the same schema and the
 * same topic list POST /v1/events checks, plus the topic the message came on, which must be its
 * event_type (the real producers publish each event on the topic named by its type).
 */
export function parseMessage(
  topic: string,
  value: Buffer | null,
): { ok: true; envelope: InboundMessage } | { ok: false; reason: string; errors: string[] } {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty value', errors: [] };
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: 'not JSON', errors: [(error as Error).message] };
  }
  const type = (raw as { event_type?: unknown } | null)?.event_type;
  if (typeof type === 'string' && !INBOUND_TOPICS.includes(type as never)) {
    return { ok: false, reason: 'unknown event_type', errors: [`event_type: this service consumes ${INBOUND_TOPICS.join(', ')}`] };
  }
  const parsed = InboundMessage.safeParse(raw);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    return { ok: false, reason: 'invalid for its model', errors: errors.slice(0, POISON_ERRORS_SHOWN) };
  }
  if (parsed.data.event_type !== topic) {
    return {
      ok: false,
      reason: 'event_type does not match the topic',
      errors: [`event_type: ${parsed.data.event_type} arrived on ${topic}`],
    };
  }
  return { ok: true, envelope: parsed.data };
}

/** Thrown for an outcome that another message will cure: the partition pauses and retries it. */
export class RetryLater extends Error {
  override name = 'RetryLater';
}

/** What each application outcome does to the offset: commit it, or commit after dead-lettering. */
export function verdictOf(outcome: ApplyOutcome | ClassEventOutcome | SlotEventOutcome): Verdict {
  if ('what' in outcome) {
    // A student of a class whose ClassCreatedV1 has not arrived yet: topics are not ordered against
    // each other, so it is retried (the partition waits) instead of being lost.
    throw new RetryLater(`${outcome.what} not known yet`);
  }
  switch (outcome.kind) {
    case 'applied':
      return { kind: 'commit', outcome: 'applied' };
    case 'duplicate':
      return { kind: 'commit', outcome: 'duplicate' };
    case 'refused':
      // The batch moved on (a redelivered event for a batch already past it): refused for good.
      return { kind: 'commit', outcome: 'refused', reason: `state ${outcome.state} does not take ${outcome.event}` };
    case 'conflict':
      return { kind: 'commit', outcome: 'refused', reason: outcome.detail };
    case 'not_due':
      return { kind: 'commit', outcome: 'refused', reason: `not due before ${outcome.due_at}` };
    case 'not_found':
      return { kind: 'dead_letter', reason: 'unknown batch', errors: ['data.batch_id: no batch with this id is registered'] };
    case 'invalid':
      return { kind: 'dead_letter', reason: 'does not fit its batch', errors: outcome.errors.map((e) => `${e.path}: ${e.message}`) };
    case 'key_reused':
      return {
        kind: 'dead_letter',
        reason: 'event_id reused',
        errors: [`event_id: ${outcome.event_id} was applied before with a different envelope`],
      };
  }
}

const idsOf = (parsed: ReturnType<typeof parseMessage>) =>
  parsed.ok
    ? { event_id: parsed.envelope.event_id, batch_id: 'batch_id' in parsed.envelope.data ? parsed.envelope.data.batch_id : null }
    : { event_id: null, batch_id: null };

const header = (headers: IHeaders | undefined, name: string): string | undefined => {
  const value = headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : String(first);
};

/** The trace context of the Kafka headers, used when the envelope's metadata carries none. */
function headerTrace(headers: IHeaders | undefined): TraceCarrier | undefined {
  const traceparent = header(headers, 'traceparent');
  if (traceparent === undefined) return undefined;
  const tracestate = header(headers, 'tracestate');
  return { traceparent, ...(tracestate ? { tracestate } : {}) };
}

/** The dead letter: the original key, value and headers, with the reason and the origin in headers. */
export function deadLetter(origin: MessageOrigin, message: KafkaMessage, reason: string, errors: string[]) {
  return {
    key: message.key,
    value: message.value,
    headers: {
      ...message.headers,
      'x-dead-letter-reason': reason,
      'x-dead-letter-errors': JSON.stringify(errors),
      'x-original-topic': origin.topic,
      'x-original-partition': String(origin.partition),
      'x-original-offset': origin.offset,
      'x-dead-lettered-at': new Date().toISOString(),
    },
  };
}

/**
 * The Kafka adapter of POST /v1/events: one consumer group over every inbound topic, each message
 * parsed and applied as the HTTP route does it, its offset committed only once the outcome is
 * final (applied, duplicate, refused, or dead-lettered). A transient failure (the database is
 * gone, a write that kept conflicting) commits nothing: the partition is paused, its position is
 * put back on the message, and after a back-off it resumes there. Other partitions go on.
 */
export function createKafkaConsumer(options: KafkaConsumerOptions) {
  const topics = options.topics ?? INBOUND_TOPICS;
  const backoff = options.backoff ?? { initialMs: 500, maxMs: 30_000 };
  const sessionTimeout = options.sessionTimeoutMs ?? 30_000;
  let state: ConsumerState = 'connecting';
  let stopping = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | null = null;
  const failures = new Map<string, number>();
  const resumeTimers = new Set<NodeJS.Timeout>();
  const highWatermarks = new Map<string, string>();

  function createConsumer(): Consumer {
    const created = options.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout,
      heartbeatInterval: Math.max(100, Math.floor(sessionTimeout / 10)),
      // aiokafka's fetch_max_wait_ms, as the real consumers run (kafkajs waits 5 s by default).
      maxWaitTimeInMs: 500,
      // Real HuleEdu creates its topics up front; where a broker auto-creates them, a subscription may too.
      allowAutoTopicCreation: true,
    });
    created.on(created.events.GROUP_JOIN, (event) => {
      state = 'joined';
      restarts = 0;
      options.onAssignment?.(Object.values(event.payload.memberAssignment).reduce((sum, partitions) => sum + partitions.length, 0));
    });
    created.on(created.events.REBALANCING, () => (state = 'rebalancing'));
    created.on(created.events.CRASH, (event) => {
      if (stopping) return;
      // kafkajs restarts by itself after a retriable error; after any other it stops for good,
      // which would leave the process without a consumer. A new one rejoins from the committed offsets.
      options.onAssignment?.(0);
      if (event.payload.restart) {
        state = 'rebalancing';
        return;
      }
      state = 'crashed';
      const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** restarts++);
      restartTimer = setTimeout(() => {
        restartTimer = null;
        if (!stopping) void start().catch(() => (state = 'crashed'));
      }, delay);
    });
    created.on(created.events.START_BATCH_PROCESS, (event) => {
      highWatermarks.set(`${event.payload.topic}:${event.payload.partition}`, event.payload.highWatermark);
    });
    return created;
  }
  let consumer: Consumer = createConsumer();

  const lagAfter = (origin: MessageOrigin): number | undefined => {
    const high = highWatermarks.get(`${origin.topic}:${origin.partition}`);
    return high === undefined ? undefined : Math.max(0, Number(high) - Number(origin.offset) - 1);
  };

  async function commit(origin: MessageOrigin) {
    await consumer.commitOffsets([{ topic: origin.topic, partition: origin.partition, offset: String(BigInt(origin.offset) + 1n) }]);
  }

  /** Applies one message and answers what to do with its offset; throws on a transient failure. */
  async function handle(origin: MessageOrigin, message: KafkaMessage, parsed: ReturnType<typeof parseMessage>): Promise<ConsumedMessage> {
    const base = { ...origin, ...idsOf(parsed) };
    const verdict: Verdict = parsed.ok
      ? verdictOf(await options.apply(parsed.envelope, headerTrace(message.headers)))
      : { kind: 'dead_letter', reason: parsed.reason, errors: parsed.errors };
    if (verdict.kind === 'dead_letter') {
      await options.producer.send({
        topic: options.deadLetterTopic,
        acks: -1,
        messages: [deadLetter(origin, message, verdict.reason, verdict.errors)],
      });
      return {
        ...base,
        outcome: 'dead_lettered',
        reason: `${verdict.reason}${verdict.errors.length ? `: ${verdict.errors.slice(0, 3).join('; ')}` : ''}`,
      };
    }
    return { ...base, outcome: verdict.outcome, ...(verdict.reason ? { reason: verdict.reason } : {}) };
  }

  /** Puts the partition's position back on this message and resumes it after the back-off. */
  function retryLater(origin: MessageOrigin): number {
    const key = `${origin.topic}:${origin.partition}`;
    const attempt = (failures.get(key) ?? 0) + 1;
    failures.set(key, attempt);
    const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** (attempt - 1));
    const partitions = [{ topic: origin.topic, partitions: [origin.partition] }];
    try {
      consumer.pause(partitions);
      consumer.seek({ topic: origin.topic, partition: origin.partition, offset: origin.offset });
    } catch {
      // The partition went to another member meanwhile; it starts there from the committed offset.
    }
    const timer = setTimeout(() => {
      resumeTimers.delete(timer);
      consumer.resume(partitions);
    }, delay);
    resumeTimers.add(timer);
    return delay;
  }

  /** Connects, joins the group and runs; after a fatal crash, again with a new consumer. */
  async function start(): Promise<void> {
    if (state === 'crashed') consumer = createConsumer();
    state = 'connecting';
    await consumer.connect();
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 8,
      eachMessage: async ({ topic, partition, message }) => {
        const origin = { topic, partition, offset: message.offset };
        const parsed = parseMessage(topic, message.value);
        let handled: ConsumedMessage;
        try {
          handled = await handle(origin, message, parsed);
          await options.beforeCommit?.(handled);
          await commit(origin);
        } catch (error) {
          const delay = retryLater(origin);
          options.onMessage?.({ ...origin, ...idsOf(parsed), outcome: 'retried', reason: `${String(error)}; again in ${delay} ms` });
          return;
        }
        failures.delete(`${topic}:${partition}`);
        const lag = lagAfter(origin);
        options.onMessage?.({ ...handled, ...(lag === undefined ? {} : { lag }) });
      },
    });
  }

  return {
    start,
    state: (): ConsumerState => state,
    /** For /readyz: answers while the consumer is in its group (or finding its way back), throws otherwise. */
    async ready(): Promise<void> {
      if (state === 'crashed' || state === 'stopped' || state === 'connecting') throw new Error(`consumer ${state}`);
    },
    async stop(): Promise<void> {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      for (const timer of resumeTimers) clearTimeout(timer);
      resumeTimers.clear();
      state = 'stopped';
      await consumer.disconnect();
    },
  };
}

export type KafkaInbound = ReturnType<typeof createKafkaConsumer>;
