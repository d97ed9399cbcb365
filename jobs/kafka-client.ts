import { Kafka, type LogEntry, logLevel } from 'kafkajs';
import type { Logger } from '../ops/logger.ts';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  log?: Logger;
}

const LEVELS: Record<number, 'debug' | 'info' | 'warn' | 'error'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * One kafkajs client whose own log lines go through the service's logger. kafkajs logs a
 * rebalance or a lost connection at ERROR although it recovers by itself; those stay warnings.
 */
export function createKafkaClient(options: KafkaClientOptions): Kafka {
  const log = options.log;
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      if (!log) return;
      const { message, ...fields } = entry.log;
      const level = LEVELS[entry.level] ?? 'info';
      log(level === 'error' ? 'warn' : level, `kafka: ${message}`, { kafka_namespace: entry.namespace, ...fields });
    },
  });
}
