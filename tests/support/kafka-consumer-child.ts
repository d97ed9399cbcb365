/**
 * A consumer process that dies (SIGKILL, no goodbye to the group) right after the application
 * committed an applied event's transaction and before the Kafka offset is committed: the window
 * where only redelivery and the event_id dedupe keep the event from being lost or doubled.
 * Env: DATABASE_URL, KAFKA_BROKERS, KAFKA_GROUP_ID, KAFKA_DEAD_LETTER_TOPIC.
 */
import { createService } from '../../app/service.ts';
import { openDatabase } from '../../db/client.ts';
import { startKafkaTransport } from '../../jobs/kafka.ts';
import { createMetrics } from '../../ops/metrics.ts';

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const database = await openDatabase({ url: env('DATABASE_URL'), dataDir: 'memory://' });
const service = createService({ db: database.db, validationTimeoutMs: 60_000 });
await startKafkaTransport(service, {
  brokers: [env('KAFKA_BROKERS')],
  clientId: 'dying-consumer',
  groupId: env('KAFKA_GROUP_ID'),
  deadLetterTopic: env('KAFKA_DEAD_LETTER_TOPIC'),
  sessionTimeoutMs: 6000,
  consume: true,
  registry: createMetrics().registry,
  log: () => {},
  consumer: {
    beforeCommit(message) {
      if (message.outcome !== 'applied') return;
      console.log(`dying after ${message.event_id}`);
      process.kill(process.pid, 'SIGKILL');
    },
  },
});
console.log('consuming');
