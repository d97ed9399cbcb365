import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.ts';
import { parseMessage, verdictOf } from '../../jobs/kafka-consumer.ts';
import { TOPICS } from '../../machines/events.ts';
import { provisioned } from '../support/flow.ts';

describe('Kafka configuration', () => {
  it('is off without KAFKA_BROKERS, and the relay publishes where it can', () => {
    expect(loadConfig({}).kafka).toBeNull();
    expect(loadConfig({}).outboxRelay).toEqual([]);
    expect(loadConfig({ REDIS_URL: 'redis://r:6379' }).outboxRelay).toEqual(['redis']);
    expect(loadConfig({ REDIS_URL: 'redis://r:6379', KAFKA_BROKERS: 'k:9092' }).outboxRelay).toEqual(['redis', 'kafka']);
    expect(loadConfig({ REDIS_URL: 'redis://r:6379', KAFKA_BROKERS: 'k:9092', OUTBOX_RELAY: 'kafka' }).outboxRelay).toEqual(['kafka']);
  });

  it('reads the brokers and the defaults', () => {
    expect(loadConfig({ KAFKA_BROKERS: 'k1:9092, k2:9093' }).kafka).toEqual({
      brokers: ['k1:9092', 'k2:9093'],
      clientId: 'huleedu-phase1-state-service',
      groupId: 'huleedu-phase1-state-service',
      deadLetterTopic: 'huleedu.phase1.dead-letter.v1',
      sessionTimeoutMs: 30_000,
    });
  });

  it('names the variable of a bad value', () => {
    expect(() => loadConfig({ KAFKA_BROKERS: 'kafka' })).toThrow(/KAFKA_BROKERS.*host:port/);
    expect(() => loadConfig({ KAFKA_BROKERS: 'k:9092', OUTBOX_RELAY: 'kafka,nats' })).toThrow(/OUTBOX_RELAY.*redis or kafka/);
    expect(() => loadConfig({ OUTBOX_RELAY: 'kafka' })).toThrow(ConfigError);
    expect(() => loadConfig({ OUTBOX_RELAY: 'redis' })).toThrow(/redis needs REDIS_URL/);
  });
});

describe('what a consumed message is', () => {
  const batchId = crypto.randomUUID();
  const good = provisioned(batchId, [{ essay_id: crypto.randomUUID(), text_storage_id: 's-1' }], 'ENG6');
  const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

  it('a real envelope on its own topic parses', () => {
    const parsed = parseMessage(TOPICS.contentProvisioned, bytes(good));
    expect(parsed).toMatchObject({ ok: true, envelope: { event_id: good.event_id } });
  });

  it('poison, with its reason', () => {
    expect(parseMessage(TOPICS.contentProvisioned, null)).toMatchObject({ ok: false, reason: 'empty value' });
    expect(parseMessage(TOPICS.contentProvisioned, bytes('{"a":'))).toMatchObject({ ok: false, reason: 'not JSON' });
    expect(parseMessage(TOPICS.contentProvisioned, bytes({ ...good, event_type: 'huleedu.other.v1' }))).toMatchObject({
      ok: false,
      reason: 'unknown event_type',
    });
    expect(parseMessage(TOPICS.essaysReady, bytes(good))).toMatchObject({ ok: false, reason: 'event_type does not match the topic' });
    const invalid = parseMessage(TOPICS.contentProvisioned, bytes({ ...good, data: { ...good.data, batch_id: 'nope' } }));
    expect(invalid).toMatchObject({ ok: false, reason: 'invalid for its model', errors: [expect.stringMatching(/^data\.batch_id: /)] });
  });

  it('what each application outcome does to the offset', () => {
    const body = { batch_id: batchId } as never;
    expect(verdictOf({ kind: 'applied', body, deadline: { kind: 'keep' }, event_type: 'x', from_state: 'a' } as never)).toEqual({
      kind: 'commit',
      outcome: 'applied',
    });
    expect(verdictOf({ kind: 'duplicate', body })).toEqual({ kind: 'commit', outcome: 'duplicate' });
    expect(verdictOf({ kind: 'refused', state: 'ready', event: 'ESSAYS_READY' } as never)).toMatchObject({
      kind: 'commit',
      outcome: 'refused',
    });
    expect(verdictOf({ kind: 'not_found' })).toMatchObject({ kind: 'dead_letter', reason: 'unknown batch' });
    expect(verdictOf({ kind: 'key_reused', event_id: 'e' })).toMatchObject({ kind: 'dead_letter', reason: 'event_id reused' });
    expect(verdictOf({ kind: 'invalid', errors: [{ path: 'data.class_id', message: 'wrong' }] })).toEqual({
      kind: 'dead_letter',
      reason: 'does not fit its batch',
      errors: ['data.class_id: wrong'],
    });
  });
});
