/**
 * Statement text written by hand, for the write path. drizzle's `sql` template walks every chunk of
 * every fragment on each call (checking each one's kind, escaping, numbering): with the writers'
 * fragments shared (db/transition-writers.ts) that walk took about a fifth of the in-process mix's CPU
 * (npm run bench, A@8/4 profile: drizzle-orm 19 % of busy time against 8 % before). Here a fragment
 * is a plain string and a parameter is numbered as it is added, so building a statement is string
 * concatenation. postgres.js still prepares it by its text (rowsOfText in db/client.ts).
 */
export class Statement {
  readonly params: unknown[] = [];

  /** The placeholder of a new parameter, cast to `type` when one is given. */
  param(value: unknown, type?: string): string {
    this.params.push(value);
    return type === undefined ? `$${this.params.length}` : `$${this.params.length}::${type}`;
  }

  /** A value sent as JSON text and read as jsonb. */
  json(value: unknown): string {
    return this.param(JSON.stringify(value), 'jsonb');
  }
}
