import { OpenAPIHono } from '@hono/zod-openapi';
import { z } from 'zod';
import { EntitlementsUnavailable } from '../../app/credits.ts';
import type { Service } from '../../app/service.ts';
import { PIPELINES, type RequestedPipeline } from '../../machines/events.ts';
import { problem } from '../problem.ts';
import type { InternalEnv } from './identity.ts';

const BatchId = z.uuid();
/** `PhaseName`, which the real orchestrator requires a requested pipeline to be. */
const PHASE_NAMES = ['spellcheck', 'ai_feedback', 'cj_assessment', 'nlp', 'student_matching'] as const;

const isPipeline = (name: string): name is RequestedPipeline => (PIPELINES as readonly string[]).includes(name);

/**
 * The orchestrator's internal doors, in the real shapes (`services/batch_orchestrator_service/api/batch_routes.py`):
 * the pipeline state the File Service and the result aggregator read, and the gateway's preflight.
 */
export function orchestratorRoutes(service: Service) {
  const app = new OpenAPIHono<InternalEnv>();

  app.get('/internal/v1/batches/:batch_id/pipeline-state', async (c) => {
    const batchId = c.req.param('batch_id');
    const state = BatchId.safeParse(batchId).success ? await service.pipelineState(batchId) : null;
    if (state === null)
      return problem(c, {
        status: 404,
        title: 'Not found',
        detail: 'Pipeline state not found for batch',
        error: 'Pipeline state not found for batch',
      });
    return c.json(state);
  });

  app.post('/internal/v1/batches/:batch_id/pipelines/:phase/preflight', async (c) => {
    const batchId = c.req.param('batch_id');
    const phase = c.req.param('phase');
    if (!(PHASE_NAMES as readonly string[]).includes(phase)) {
      return problem(c, {
        status: 400,
        title: 'Invalid request',
        detail: `Invalid pipeline phase: ${phase.slice(0, 100)}`,
        error: `Invalid pipeline phase: ${phase.slice(0, 100)}`,
      });
    }
    if (!isPipeline(phase)) {
      const detail = `Unknown pipeline ${phase}: the pipelines that run are ${PIPELINES.join(', ')}`;
      return problem(c, { status: 400, title: 'Invalid request', detail, error: detail });
    }
    if (!BatchId.safeParse(batchId).success)
      return problem(c, {
        status: 404,
        title: 'Not found',
        detail: 'Batch not found',
        error: 'Batch not found',
        batch_id: batchId.slice(0, 100),
      });
    let answer: Awaited<ReturnType<Service['preflight']>>;
    try {
      answer = await service.preflight(batchId, phase);
    } catch (error) {
      if (!(error instanceof EntitlementsUnavailable)) throw error;
      c.header('retry-after', '5');
      return problem(c, {
        status: 503,
        title: 'Unavailable',
        detail: `The credit check could not be made: ${error.message}`,
        error: 'Preflight evaluation failed',
      });
    }
    if (answer.kind === 'not_found')
      return problem(c, { status: 404, title: 'Not found', detail: 'Batch not found', error: 'Batch not found', batch_id: batchId });
    const { kind: _kind, denial_reason, allowed, ...figures } = answer;
    const body = { allowed, batch_id: batchId, ...figures, correlation_id: c.get('correlationId') };
    if (allowed) return c.json(body, 200);
    return c.json({ ...body, denial_reason }, denial_reason === 'rate_limit_exceeded' ? 429 : 402);
  });

  return app;
}
