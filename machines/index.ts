export * from './domain.ts';
export * from './events.ts';
export * from './association.ts';
export * from './batch.ts';
export * from './describe.ts';
export * from './step.ts';
export * from './persisted.ts';
