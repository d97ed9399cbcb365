import { z } from '@hono/zod-openapi';

/** The pieces every answer is made of: the security scheme names, ids, instants, counts and the examples' values; the health answers. */

export const SECURITY = { service: 'serviceToken', teacher: 'teacherJwt' } as const;

export const uuid = z.uuid();
export const instant = z.iso.datetime({ offset: true });
export const count = z.number().int().nonnegative();

export const EXAMPLE = {
  batchId: '3f1c2a9e-5b7d-4e8f-9a1b-2c3d4e5f6a7b',
  classId: '8a6e0804-2bd0-4672-b79d-d97027f9071a',
  essayId: 'b1e2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  studentId: 'c9d8e7f6-a5b4-4c3d-9e2f-1a0b9c8d7e6f',
  correlationId: '5e4d3c2b-1a09-4f8e-8d7c-6b5a49382716',
  eventId: '0d9c8b7a-6f5e-4d3c-8b2a-190817263544',
  at: '2026-03-02T09:15:00.000Z',
  dueAt: '2026-03-03T09:15:00.000Z',
} as const;

export const Health = z.strictObject({ status: z.literal('ok') }).openapi('Health');
export const Ready = z.strictObject({ status: z.literal('ready') }).openapi('Ready');
