import { Partitioners, type Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import { classEventFingerprint, inboundFingerprint, slotEventFingerprint } from '../app/inbound.ts';
import { isClassEnvelope, isSlotEnvelope } from '../machines/events.ts';
import type { Service } from '../app/service.ts';
import { createKafkaMetrics } from '../ops/kafka-metrics.ts';
import type { Logger } from '../ops/logger.ts';
import { createKafkaClient } from './kafka-client.ts';
import { type ConsumedMessage, type KafkaConsumerOptions, createKafkaConsumer } from './kafka-consumer.ts';
import { kafkaSink } from './kafka-sink.ts';

export interface KafkaTransportOptions {
  brokers: string[];
  clientId: string;
  groupId: string;
  deadLetterTopic: string;
  sessionTimeoutMs: number;
  /** Whether this process consumes the inbound topics (the worker role does). */
  consume: boolean;
  registry: Registry;
  log: Logger;
  /** Test seams and tuning passed to the consumer. */
  consumer?: Pick<KafkaConsumerOptions, 'beforeCommit' | 'backoff' | 'partitionsConsumedConcurrently' | 'topics'>;
}

/** One log line per handled message: topic, partition, offset, event id, outcome. */
function logMessage(log: Logger, m: ConsumedMessage): void {
  const level = m.outcome === 'applied' || m.outcome === 'duplicate' ? 'debug' : m.outcome === 'refused' ? 'info' : 'warn';
  log(level, `kafka message ${m.outcome}`, { ...m });
}

/**
 * HuleEdu's Kafka for one process: a producer (the outbox relay's sink and the dead letters) and,
 * in the worker role, the consumer of every inbound topic, applying each message through the
 * service exactly as POST /v1/events does.
 */
export async function startKafkaTransport(service: Service, options: KafkaTransportOptions) {
  const kafka = createKafkaClient({ brokers: options.brokers, clientId: options.clientId, log: options.log });
  const metrics = createKafkaMetrics(options.registry);
  // Java's (and aiokafka's) murmur2 partitioner: a batch id lands on the partition the real producers pick.
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true });
  let producerConnected = false;
  producer.on(producer.events.CONNECT, () => (producerConnected = true));
  producer.on(producer.events.DISCONNECT, () => (producerConnected = false));
  await producer.connect();

  const consumer = options.consume
    ? createKafkaConsumer({
        kafka,
        groupId: options.groupId,
        deadLetterTopic: options.deadLetterTopic,
        producer,
        sessionTimeoutMs: options.sessionTimeoutMs,
        ...options.consumer,
        apply: (envelope, transportTrace) =>
          isClassEnvelope(envelope)
            ? service.applyClassEvent(envelope, classEventFingerprint(envelope))
            : isSlotEnvelope(envelope)
              ? service.applySlotAssigned(envelope, slotEventFingerprint(envelope))
              : service.applyInbound(envelope, {
                  fingerprint: inboundFingerprint(envelope),
                  ...(transportTrace ? { fallbackTrace: transportTrace } : {}),
                }),
        onAssignment: (partitions) => metrics.assignedPartitions.set(partitions),
        onMessage(m) {
          metrics.messages.inc({ topic: m.topic, outcome: m.outcome });
          if (m.lag !== undefined) metrics.consumerLag.set({ topic: m.topic, partition: String(m.partition) }, m.lag);
          logMessage(options.log, m);
        },
      })
    : null;
  await consumer?.start();

  return {
    sink: kafkaSink(producer, metrics),
    consumer,
    /** For /readyz: the producer's connection, and the consumer's group membership when it runs. */
    readiness: {
      kafka_producer: async () => {
        if (!producerConnected) throw new Error('producer not connected');
      },
      ...(consumer ? { kafka_consumer: () => consumer.ready() } : {}),
    },
    async stop(): Promise<void> {
      await consumer?.stop();
      await producer.disconnect();
    },
  };
}

export type KafkaTransport = Awaited<ReturnType<typeof startKafkaTransport>>;
