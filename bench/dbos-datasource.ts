import { AsyncLocalStorage } from 'node:async_hooks';
import { DBOS } from '@dbos-inc/dbos-sdk';
import {
  DBOSStepAlreadyRecordedError,
  type DataSourceTransactionHandler,
  assertStillOwnsWorkflow,
  isPGKeyConflictError,
  isPGRetriableTransactionError,
  migrateDataSourcePG,
  registerDataSource,
  replayRecordedStep,
  runTransaction,
} from '@dbos-inc/dbos-sdk/datasource';
import postgres from 'postgres';
import { SuperJSON } from 'superjson';

/**
 * DBOS transactions on postgres.js, for the bench's DBOS flow (bench/dbos-flow.ts): a port of
 * DBOS's published `@dbos-inc/postgres-datasource` (4.24, MIT) to the data-source contract of
 * `@dbos-inc/dbos-sdk` 5.3, on which the published one does not load (it imports
 * `createTransactionCompletionSchemaPG` and `checkSchemaInstallationPG`, which 5.3 no longer has).
 *
 * What the port changes, each from the 5.3 contract (`@dbos-inc/dbos-sdk/datasource`):
 * - `initialize` migrates the checkpoint schema with `migrateDataSourcePG`, in one transaction;
 * - the completion checkpoint is inserted in the user's transaction, then `assertStillOwnsWorkflow`
 *   fences a stale execution, and a key conflict means a concurrent execution recorded the step
 *   first (`DBOSStepAlreadyRecordedError`: roll back and replay the recorded outcome);
 * - `deleteCheckpoints` removes a finished workflow's checkpoints, as the SDK asks on completion.
 * The rest is the published data source: the same check before the transaction, the same retry of
 * serialization failures, an error recorded as the step's outcome.
 */

interface Context {
  client: postgres.TransactionSql;
}

const store = new AsyncLocalStorage<Context>();

/** The transaction's client inside a DBOS transaction of this data source. */
export function dbosClient(): postgres.TransactionSql {
  const ctx = store.getStore();
  if (!ctx || !DBOS.isInTransaction()) throw new Error('dbosClient() outside of a DBOS transaction');
  return ctx.client;
}

class Handler implements DataSourceTransactionHandler {
  readonly dsType = 'PostgresDataSource';
  #sql: postgres.Sql | undefined;

  constructor(
    readonly name: string,
    private readonly url: string,
    private readonly options: postgres.Options<Record<string, never>>,
    private readonly schema: string,
  ) {}

  get sql(): postgres.Sql {
    if (!this.#sql) throw new Error(`data source ${this.name} is not initialized`);
    return this.#sql;
  }

  async initialize(): Promise<void> {
    await this.#sql?.end();
    this.#sql = postgres(this.url, { onnotice: () => {}, ...this.options });
    await this.#sql.begin((tx) => migrateDataSourcePG((text) => tx.unsafe(text), this.schema));
  }

  async destroy(): Promise<void> {
    const sql = this.#sql;
    this.#sql = undefined;
    await sql?.end({ timeout: 5 });
  }

  async deleteCheckpoints(workflowID: string, startStep: number, beforeCommit?: () => Promise<void>): Promise<void> {
    await this.sql.begin(async (tx) => {
      await tx`DELETE FROM ${tx(this.schema)}.transaction_completion WHERE workflow_id = ${workflowID} AND function_num >= ${startStep}`;
      await beforeCommit?.();
    });
  }

  async #recorded(workflowID: string, stepID: number) {
    const rows = await this.sql<Array<{ output: string | null; error: string | null }>>`
      SELECT output, error FROM ${this.sql(this.schema)}.transaction_completion
      WHERE workflow_id = ${workflowID} AND function_num = ${stepID}`;
    return rows[0];
  }

  async #record(
    client: postgres.Sql | postgres.TransactionSql,
    workflowID: string,
    stepID: number,
    outcome: { output?: string; error?: string },
  ) {
    try {
      await client`
        INSERT INTO ${client(this.schema)}.transaction_completion (workflow_id, function_num, output, error)
        VALUES (${workflowID}, ${stepID}, ${outcome.output ?? null}, ${outcome.error ?? null})`;
    } catch (error) {
      if (isPGKeyConflictError(error)) throw new DBOSStepAlreadyRecordedError(workflowID, stepID);
      throw error;
    }
  }

  async invokeTransactionFunction<This, Args extends unknown[], Return>(
    _config: unknown,
    target: This,
    func: (this: This, ...args: Args) => Promise<Return>,
    ...args: Args
  ): Promise<Return> {
    const workflowID = DBOS.workflowID;
    const stepID = DBOS.stepID;
    const checkpoint = workflowID !== undefined && stepID !== undefined;
    let wait = 1;
    for (;;) {
      if (checkpoint) {
        const previous = await this.#recorded(workflowID, stepID);
        if (previous) return replayRecordedStep<Return>(previous);
      }
      try {
        return (await this.sql.begin(async (client) => {
          const result = await store.run({ client }, () => func.call(target, ...args));
          if (checkpoint) {
            await this.#record(client, workflowID, stepID, { output: SuperJSON.stringify(result) });
            await assertStillOwnsWorkflow(workflowID);
          }
          return result;
        })) as Return;
      } catch (error) {
        if (error instanceof DBOSStepAlreadyRecordedError) {
          const recorded = await this.#recorded(workflowID!, stepID!);
          if (recorded) return replayRecordedStep<Return>(recorded);
          throw error;
        }
        if (isPGRetriableTransactionError(error)) {
          await new Promise((resolve) => setTimeout(resolve, wait));
          wait = Math.min(wait * 1.5, 2000);
          continue;
        }
        if (checkpoint && !(error instanceof Error && error.name === 'DBOSWorkflowConflictError')) {
          await this.#record(this.sql, workflowID, stepID, { error: SuperJSON.stringify(error) });
        }
        throw error;
      }
    }
  }
}

/** A DBOS data source on postgres.js; `runTransaction` runs a function as one DBOS transaction. */
export class PostgresDataSource {
  readonly #handler: Handler;

  constructor(
    readonly name: string,
    url: string,
    options: postgres.Options<Record<string, never>> = {},
    schema = 'dbos',
  ) {
    this.#handler = new Handler(name, url, options, schema);
    registerDataSource(this.#handler);
  }

  /** The data source's own pool, for reads outside DBOS transactions (the bench's checks). */
  get sql(): postgres.Sql {
    return this.#handler.sql;
  }

  runTransaction<T>(func: () => Promise<T>, name: string): Promise<T> {
    return runTransaction(func, name, { dsName: this.name });
  }
}
