import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSources {
  /** Outbox rows not yet relayed; read on each scrape. */
  outboxBacklog?: () => Promise<number>;
  /** Jobs per queue and state; read on each scrape. */
  queueDepth?: () => Promise<Array<{ queue: string; state: string; count: number }>>;
  /** The operators' three numbers (deadlines overdue, batches stuck, oldest unpublished outbox row); read on each scrape. */
  operatorNumbers?: () => Promise<{ deadlines_overdue: number; batches_stuck: number; oldest_unpublished_outbox_age_seconds: number }>;
  /** Node process metrics (memory, event loop, GC). Off in tests: they start monitors per registry. */
  processMetrics?: boolean;
  /** A source failed during a scrape; the gauge keeps its last value. */
  onCollectError?: (error: unknown) => void;
}

/**
 * Every metric of one app instance, on a registry of its own (never prom-client's global one), so
 * several instances in one test process do not collide.
 */
export function createMetrics(sources: MetricsSources = {}) {
  const registry = new Registry();
  const registers = [registry];

  const metrics = {
    registry,
    httpRequestDuration: new Histogram({
      name: 'huleedu_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern and status.',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    transitionsApplied: new Counter({
      name: 'huleedu_transitions_applied_total',
      help: 'Events that moved a machine, by machine, event and the states before and after.',
      labelNames: ['machine', 'event', 'from_state', 'to_state'] as const,
      registers,
    }),
    transitionsRefused: new Counter({
      name: 'huleedu_transitions_refused_total',
      help: 'Events the current state did not accept (nothing changed), by machine, event and state.',
      labelNames: ['machine', 'event', 'state'] as const,
      registers,
    }),
    duplicateEvents: new Counter({
      name: 'huleedu_duplicate_events_total',
      help: 'Events whose id was applied before and were answered from the first result, by kind of caller.',
      labelNames: ['actor'] as const,
      registers,
    }),
    deadlinesScheduled: new Counter({
      name: 'huleedu_deadlines_scheduled_total',
      help: 'Validation deadlines set or moved by a transition.',
      registers,
    }),
    deadlinesFired: new Counter({
      name: 'huleedu_deadlines_fired_total',
      help: 'Validation timeouts handed to the application, by scheduler (bullmq or sweep) and outcome.',
      labelNames: ['fired_by', 'outcome'] as const,
      registers,
    }),
    deadlinesLate: new Counter({
      name: 'huleedu_deadlines_late_total',
      help: 'Validation timeouts that arrived after their deadline was moved or met: a no-op, by scheduler.',
      labelNames: ['fired_by'] as const,
      registers,
    }),
    outboxRelayed: new Counter({
      name: 'huleedu_outbox_relayed_total',
      help: 'Outbox messages published to Redis Streams, by topic.',
      labelNames: ['topic'] as const,
      registers,
    }),
    outboxBacklog: new Gauge({
      name: 'huleedu_outbox_backlog',
      help: 'Messages in outbox rows not yet published (grows without the relay; pollers of /v1/outbox do not mark rows).',
      registers,
      async collect() {
        if (!sources.outboxBacklog) return;
        try {
          this.set(await sources.outboxBacklog());
        } catch (error) {
          sources.onCollectError?.(error);
        }
      },
    }),
    queueJobs: new Gauge({
      name: 'huleedu_queue_jobs',
      help: 'BullMQ jobs by queue and state (waiting, delayed, active, failed).',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        if (!sources.queueDepth) return;
        try {
          for (const { queue, state, count } of await sources.queueDepth()) this.set({ queue, state }, count);
        } catch (error) {
          sources.onCollectError?.(error);
        }
      },
    }),
    ...operatorGauges(sources, registers),
  };
  if (sources.processMetrics) collectDefaultMetrics({ register: registry });
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** One read of the three numbers per scrape, shared by their three gauges. */
function operatorGauges(sources: MetricsSources, registers: Registry[]) {
  let reading: Promise<Awaited<ReturnType<NonNullable<MetricsSources['operatorNumbers']>>> | null> | null = null;
  const read = () => {
    reading ??= (sources.operatorNumbers?.() ?? Promise.resolve(null)).catch((error: unknown) => {
      sources.onCollectError?.(error);
      return null;
    });
    const current = reading;
    // Forget the read once this scrape's gauges have all had it.
    void current.finally(() => setTimeout(() => (reading === current ? (reading = null) : null), 0));
    return current;
  };
  const gauge = (name: string, help: string, pick: (n: NonNullable<Awaited<ReturnType<typeof read>>>) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        if (!sources.operatorNumbers) return;
        const numbers = await read();
        if (numbers) this.set(pick(numbers));
      },
    });
  return {
    deadlinesOverdue: gauge('huleedu_deadlines_overdue', 'Validation deadlines due and not yet applied.', (n) => n.deadlines_overdue),
    batchesStuck: gauge('huleedu_batches_stuck', 'Batches waiting for another service longer than STUCK_AFTER_MS.', (n) => n.batches_stuck),
    outboxOldestAge: gauge(
      'huleedu_outbox_oldest_unpublished_age_seconds',
      'Age of the oldest outbox row not yet published (0 when none waits).',
      (n) => n.oldest_unpublished_outbox_age_seconds,
    ),
  };
}
