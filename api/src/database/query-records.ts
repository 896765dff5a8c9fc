import { EntityManager } from 'typeorm';

/**
 * Rows of any statement (SELECT, INSERT/UPDATE … RETURNING) run in the caller's transaction.
 * TypeORM's plain `query()` returns [rows, count] for UPDATE and DELETE; the structured result does not.
 */
export async function queryRecords<T>(tx: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  const runner = tx.queryRunner;
  if (!runner) throw new Error('queryRecords needs a transaction (an EntityManager with a query runner)');
  const result = await runner.query(sql, params, true);
  return result.records as T[];
}
