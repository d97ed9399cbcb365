import type { Db } from '../db/client.ts';
import { getBatch, listAssociations } from './queries.ts';
import { type StreamHistoryRow, historySince } from './review-reads.ts';

/**
 * Live updates of one batch, read from what has committed: the batch's history rows by `seq`
 * (the stream's event id, so `Last-Event-ID` resumes), and after any new row the batch's read
 * model (projection and association rows). Nothing lives in process memory but the reader's own
 * cursor, so any API process on the same database serves any batch's stream.
 */

export type StreamMessage =
  | { event: 'history'; id: number; data: StreamHistoryRow }
  | { event: 'batch'; id: number; data: { batch: unknown; associations: unknown } };

export interface BatchStreamsOptions {
  db: Db;
  /** How often an open stream looks for new rows. */
  pollMs: number;
}

export function createBatchStreams(options: BatchStreamsOptions) {
  const { db, pollMs } = options;
  let closed = false;
  const sleepers = new Set<() => void>();

  /** Waits `ms`, or less when the hub closes or `cancelled` resolves first. */
  function nap(ms: number, cancelled: { aborted: boolean; wake?: () => void }) {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
      cancelled.wake = done;
    });
  }

  return {
    get closed() {
      return closed;
    },
    /**
     * The stream of one batch from `after` (0: from the start) until the hub closes or the reader
     * stops. Rows at or before `after` may come again (the overlap); readers drop known seqs.
     */
    async *follow(
      ownerId: string,
      batchId: string,
      after: number,
      reader: { aborted: boolean; wake?: () => void },
    ): AsyncGenerator<StreamMessage> {
      let seen = new Set<number>();
      let cursor = after;
      let first = true;
      while (!closed && !reader.aborted) {
        const found = await historySince(db, ownerId, batchId, cursor);
        const fresh = found.filter((h) => !seen.has(h.seq));
        for (const row of fresh) {
          seen.add(row.seq);
          cursor = Math.max(cursor, row.seq);
          yield { event: 'history', id: row.seq, data: row };
        }
        if (first || fresh.length > 0) {
          first = false;
          const [batch, associations] = await Promise.all([getBatch(db, ownerId, batchId), listAssociations(db, ownerId, batchId)]);
          if (batch === null) return;
          yield { event: 'batch', id: cursor, data: { batch, associations } };
        }
        // A seq not read this time is at or below the cursor and out of the overlap: it never comes
        // again, so only this read's seqs need remembering and memory stays flat.
        seen = new Set(found.map((h) => h.seq));
        await nap(pollMs, reader);
      }
    },
    /** Ends every open stream (graceful shutdown); new ones are refused. */
    close() {
      closed = true;
      for (const wake of [...sleepers]) wake();
    },
  };
}

export type BatchStreams = ReturnType<typeof createBatchStreams>;
