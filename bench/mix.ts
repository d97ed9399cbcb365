import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import type { ApplyOutcome } from '../app/apply.ts';
import { decideAssociations } from '../app/commands.ts';
import type { Service } from '../app/service.ts';
import { InboundEnvelope } from '../machines/events.ts';
import {
  type ClassFixture,
  type Decision,
  type EssayRef,
  authorMatchesSuggested,
  contentProvisioned,
  essaysReady,
  freshEssays,
  oneDecisionPerRequest,
  teacherDecisions,
} from './events.ts';
import { type BatchCopy, type Template, cloneBatches } from './fixtures.ts';
import type { HttpClient } from './http-client.ts';
import type { Operation } from './load.ts';

/**
 * The realistic event mix: every client walks registered batches through their life, one event
 * per operation — content provisioned, author matches suggested, the teacher's decisions, essays
 * ready. In `two-sittings` the teacher decides half the essays per request (five events a batch,
 * two of them teacher commands); in `one-per-request` they decide one essay per request, as
 * teachers often do (3 + essays events a batch).
 */
export type DecisionStyle = 'two-sittings' | 'one-per-request';

export function eventsPerBatch(style: DecisionStyle, essays: number): number {
  return style === 'two-sittings' ? 5 : 3 + essays;
}

export interface MixTransport {
  inbound(envelope: Record<string, unknown>): Promise<void>;
  decide(cls: ClassFixture, batchId: string, decisions: Decision[]): Promise<void>;
}

/** Registered batches waiting for their first event, copied from templates in bulk ahead of time. */
export class BatchPool {
  private ready: BatchCopy[] = [];
  private refilling: Promise<void> | null = null;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly templates: Template[],
  ) {}

  get size(): number {
    return this.ready.length;
  }

  async ensure(count: number): Promise<void> {
    if (this.ready.length >= count) return;
    this.ready.push(...(await cloneBatches(this.sql, this.templates, count - this.ready.length)));
  }

  /** A batch for the next walk; if the estimate fell short, one shared refill serves every client. */
  async take(): Promise<BatchCopy> {
    while (this.ready.length === 0) {
      this.refilling ??= this.ensure(500).finally(() => (this.refilling = null));
      await this.refilling;
    }
    return this.ready.pop()!;
  }
}

interface Walk {
  batch: BatchCopy;
  essays: EssayRef[];
  decisions: Decision[][];
  step: number;
}

export function eventMix(
  pool: Pick<BatchPool, 'take'>,
  transport: MixTransport,
  essaysPerBatch: number,
  style: DecisionStyle = 'two-sittings',
): Operation {
  const walks = new Map<number, Walk>();
  return async (client) => {
    let walk = walks.get(client);
    if (!walk || walk.step === 3 + walk.decisions.length) {
      const batch = await pool.take();
      const essays = freshEssays(essaysPerBatch);
      const decisions =
        style === 'two-sittings'
          ? [teacherDecisions(batch.cls, essays, 1), teacherDecisions(batch.cls, essays, 2)]
          : oneDecisionPerRequest(batch.cls, essays);
      walk = { batch, essays, decisions, step: 0 };
      walks.set(client, walk);
    }
    const { batch, essays, decisions } = walk;
    const cls = batch.cls;
    const step = walk.step++;
    if (step === 0) return transport.inbound(contentProvisioned(batch.batchId, cls, essays));
    if (step === 1) return transport.inbound(authorMatchesSuggested(batch.batchId, cls, essays));
    if (step < 2 + decisions.length) return transport.decide(cls, batch.batchId, decisions[step - 2]!);
    return transport.inbound(essaysReady(batch.batchId, cls, essays));
  };
}

function expectApplied(outcome: ApplyOutcome, what: string): void {
  if (outcome.kind !== 'applied') throw new Error(`${what}: expected applied, got ${JSON.stringify(outcome).slice(0, 500)}`);
}

/** A: straight into the application layer, as an inbound consumer or a command handler calls it. */
export function directTransport(service: Service): MixTransport {
  return {
    async inbound(envelope) {
      const parsed = InboundEnvelope.parse(envelope);
      expectApplied(await service.applyInbound(parsed), parsed.event_type);
    },
    async decide(cls, batchId, decisions) {
      const call = { teacherId: cls.ownerId, batchId, eventId: `cmd-${randomUUID()}`, correlationId: null };
      expectApplied(await service.apply(decideAssociations(call, decisions)), 'teacher decisions');
    },
  };
}

/** C: the same events as HTTP requests to the real server. */
export function httpTransport(client: HttpClient, serviceToken: string, teacherTokens: Map<string, string>): MixTransport {
  return {
    async inbound(envelope) {
      await client.post('/v1/events', envelope, serviceToken);
    },
    async decide(cls, batchId, decisions) {
      const token = teacherTokens.get(cls.ownerId);
      if (!token) throw new Error(`no token for ${cls.ownerId}`);
      // A 200 can still carry a refused decision per essay: only applied ones are data points.
      const answer = (await client.post(`/v1/batches/${batchId}/student-associations/confirm`, { associations: decisions }, token)) as {
        results: Array<{ outcome: string }>;
      };
      const refused = answer.results.filter((r) => r.outcome !== 'applied');
      if (refused.length > 0) throw new Error(`teacher decisions: ${refused.length} not applied: ${JSON.stringify(refused).slice(0, 300)}`);
    },
  };
}
