/**
 * What the API answers, as zod schemas for the OpenAPI document, one module a resource. The request
 * schemas stay where the handlers validate with them (server/schemas.ts, machines/events.ts); these
 * only describe responses, and the conformance test holds the real answers to them. Answers are
 * strict objects so that a field added to an answer without documenting it fails that test. The
 * pieces the answers share (ids, instants, counts, the examples' values) are in common.ts.
 */

export { EXAMPLE, Health, Ready, SECURITY } from './common.ts';
export * from './applied.ts';
export * from './batches.ts';
export * from './outbox.ts';
export * from './deadlines.ts';
export * from './classes.ts';
export * from './students.ts';
export * from './corrections.ts';
export * from './audit.ts';
export * from './retention.ts';
export * from './pauses.ts';
