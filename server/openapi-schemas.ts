/** The routes' name for the response schemas, which live in openapi/ by resource. */
export * from './openapi/index.ts';
