import type { Db } from '../db/client.ts';
import { UNIQUE_VIOLATION, pgErrorOf } from '../db/errors.ts';
import { keyedAnswer, rememberAnswer } from '../db/keyed-answers.ts';

/** A request's Idempotency-Key, scoped (app/idempotency.ts), and the fingerprint of what it asked. */
export interface KeyedCall {
  key: string;
  fingerprint: string;
}

export type KeyedOutcome<T> = { kind: 'answered'; result: T; replayed: boolean } | { kind: 'key_reused'; event_id: string };

/**
 * Runs a request that is not an event of a batch (creating a class, adding students) at most once
 * per Idempotency-Key: the first run's result is stored with what it made, in its transaction, and
 * a retry with the same key and request gets it again instead of making a second class. `madeId`
 * names what a result made; a result that made nothing (refused) is not stored, so a retry runs again.
 */
export async function onceForKey<T>(
  db: Db,
  call: KeyedCall | undefined,
  run: (db: Db) => Promise<T>,
  madeId: (result: T) => string | null,
): Promise<KeyedOutcome<T>> {
  if (call === undefined) return { kind: 'answered', result: await run(db), replayed: false };
  const prior = await keyedAnswer(db, call.key);
  if (prior) return replay(call, prior);
  try {
    const result = await db.transaction(async (tx) => {
      const made = await run(tx as unknown as Db);
      const id = madeId(made);
      // A refusal may have failed a statement (a unique e-mail): roll back rather than commit an aborted transaction.
      if (id === null) throw new MadeNothing(made);
      await rememberAnswer(tx as unknown as Db, call.key, id, made, call.fingerprint);
      return made;
    });
    return { kind: 'answered', result, replayed: false };
  } catch (error) {
    if (error instanceof MadeNothing) return { kind: 'answered', result: error.result as T, replayed: false };
    const pg = pgErrorOf(error);
    if (pg?.code !== UNIQUE_VIOLATION || pg.constraint !== 'processed_events_pkey') throw error;
    // The same key's first request committed while this one ran: answer with its result.
    return replay(call, (await keyedAnswer(db, call.key))!);
  }
}

class MadeNothing extends Error {
  constructor(readonly result: unknown) {
    super('the request made nothing; its transaction rolls back');
  }
}

function replay<T>(call: KeyedCall, prior: { response: unknown; fingerprint: string | null }): KeyedOutcome<T> {
  if (prior.fingerprint !== call.fingerprint) return { kind: 'key_reused', event_id: call.key };
  return { kind: 'answered', result: prior.response as T, replayed: true };
}
