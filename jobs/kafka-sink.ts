import type { Producer } from 'kafkajs';
import type { KafkaMetrics } from '../ops/kafka-metrics.ts';
import type { OutboxSink, PendingMessage } from './relay.ts';

/** The W3C trace context the envelope's metadata carries, copied into Kafka headers too. */
function traceHeaders(envelope: unknown): Record<string, string> {
  const metadata = (envelope as { metadata?: Record<string, unknown> | null } | null)?.metadata ?? {};
  const headers: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate']) {
    if (typeof metadata[name] === 'string') headers[name] = metadata[name] as string;
  }
  return headers;
}

/**
 * The outbox's Kafka side: a pass's messages in one produce request per broker, each to its topic,
 * keyed by batch id (a batch's events share a partition and keep their order), the envelope JSON as
 * the value, and answering only once every in-sync replica has them (acks=-1). The envelope goes out
 * as stored, with its own event_id, also when its row is published again after a crash.
 */
export function kafkaSink(producer: Producer, metrics?: KafkaMetrics): OutboxSink {
  return {
    name: 'kafka',
    async publish(rows: PendingMessage[]) {
      const byTopic = new Map<string, PendingMessage[]>();
      for (const row of rows) {
        const list = byTopic.get(row.topic);
        if (list) list.push(row);
        else byTopic.set(row.topic, [row]);
      }
      const started = performance.now();
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, list]) => ({
          topic,
          messages: list.map((row) => ({
            key: row.batch_id,
            value: JSON.stringify(row.envelope),
            headers: { ...traceHeaders(row.envelope), event_id: row.event_id, event_type: row.topic },
          })),
        })),
      });
      metrics?.publishSeconds.observe((performance.now() - started) / 1000);
      for (const row of rows) metrics?.published.inc({ topic: row.topic });
    },
  };
}
