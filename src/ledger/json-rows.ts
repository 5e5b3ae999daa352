/**
 * Ledger-internal helper: a multi-row INSERT whose rows travel as ONE JSON parameter
 * (jsonb_to_recordset), so a group of messages costs one parameter per table, not one per value.
 * Only the ledger's stores use it; the table names stay in those files.
 */

/** Column name → SQL type, in insert order. */
export type Columns = Readonly<Record<string, string>>;

/** The columns every message-stamped ledger row carries: which message brought it, and when. */
export const STAMP: Columns = { message_id: 'uuid', received_at: 'timestamptz' };

/** `INSERT INTO <table> (…) SELECT … FROM jsonb_to_recordset($<param>::jsonb)` over `columns`. */
export function insertJsonRows(table: string, columns: Columns, param: number): string {
  const cols = Object.keys(columns);
  return `INSERT INTO ${table} (${cols.join(', ')}) SELECT ${cols.map((c) => `r.${c}`).join(', ')}
    FROM jsonb_to_recordset($${param}::jsonb) AS r(${cols.map((c) => `${c} ${columns[c]}`).join(', ')})`;
}

/** One ledger row and the message that brought it. */
export interface Stamped<T> {
  message_id: string;
  received_at: Date;
  row: T;
}

/** The rows as the JSON array insertJsonRows reads: each row with its message's stamp. */
export function stampedJson<T extends object>(rows: readonly Stamped<T>[], extra?: (row: T) => object): string {
  return JSON.stringify(
    rows.map((r) => Object.assign({}, r.row, extra?.(r.row), { message_id: r.message_id, received_at: r.received_at })),
  );
}
