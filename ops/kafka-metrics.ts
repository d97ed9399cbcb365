import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What happened to one consumed message; each outcome but `retried` commits its offset. */
export type ConsumedOutcome = 'applied' | 'duplicate' | 'refused' | 'dead_lettered' | 'retried';

/**
 * The Kafka transport's metrics, on the service's own registry (ops/metrics.ts). Outbox age is
 * huleedu_outbox_oldest_unpublished_age_seconds there, whichever relay publishes.
 */
export function createKafkaMetrics(registry: Registry) {
  const registers = [registry];
  return {
    messages: new Counter({
      name: 'huleedu_kafka_messages_total',
      help: 'Consumed Kafka messages by topic and outcome (applied, duplicate, refused, dead_lettered, retried).',
      labelNames: ['topic', 'outcome'] as const,
      registers,
    }),
    consumerLag: new Gauge({
      name: 'huleedu_kafka_consumer_lag',
      help: 'Messages behind the high watermark per topic and partition, as of the last message this process handled.',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }),
    assignedPartitions: new Gauge({
      name: 'huleedu_kafka_assigned_partitions',
      help: 'Inbound partitions this process holds in its consumer group, as of its last join.',
      registers,
    }),
    published: new Counter({
      name: 'huleedu_kafka_published_total',
      help: 'Outbox messages the Kafka broker acknowledged, by topic.',
      labelNames: ['topic'] as const,
      registers,
    }),
    publishSeconds: new Histogram({
      name: 'huleedu_kafka_publish_seconds',
      help: 'Time from sending a batch of outbox rows to Kafka to the acknowledgement of every replica (acks=-1).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
  };
}

export type KafkaMetrics = ReturnType<typeof createKafkaMetrics>;
