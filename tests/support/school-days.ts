/** Friday 4 December 2026, 15:05 in Stockholm: the clock of the school-day deadline tests. */
export const FRIDAY_1505 = Date.parse('2026-12-04T14:05:00.000Z');

/** Friday to Monday, one school day on: the OpenAPI example of a deadline's `why`, which the tests thereby keep true. */
export { SCHOOL_DAY_WHY_EXAMPLE as FRIDAY_TO_MONDAY } from '../../server/openapi/deadlines.ts';
