/**
 * CSV formula injection (OWASP "CSV Injection", issue 13). A spreadsheet — Excel, WPS, LibreOffice —
 * opening a CSV treats a cell that begins with `=`, `+`, `-`, `@` (or their full-width forms), a tab
 * or a carriage return as a formula, and setl_id, payment ids and case notes are text that insurers,
 * institutions and the agency send us. Such a cell is written with a leading apostrophe, which the
 * spreadsheet shows as text and does not evaluate: the rule of csv-stringify's `escape_formulas`,
 * applied through its `cast` hook so that one exception fits in.
 *
 * The exception: a plain decimal such as a negative difference `-12.50` is a number, not a formula,
 * and is written as it is, so amounts stay numbers in the spreadsheet (in every column — a plain
 * decimal cannot carry a formula). `escape_formulas` itself spares a leading `-` only for JavaScript
 * numbers, and amounts are exact decimal strings here (a double loses fen above 2^53); overriding it per
 * cell from `cast` re-normalises the options for every such cell (≈1.5–2x slower, measured).
 */
import type { Options } from 'csv-stringify';

const FORMULA_START = /^[=+\-@\t\r\uFF1D\uFF0B\uFF0D\uFF20]/;
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;

/** The cell as a spreadsheet should show it: formula-looking text behind an apostrophe. */
export function neutraliseFormula(cell: string): string {
  return FORMULA_START.test(cell) && !PLAIN_DECIMAL.test(cell) ? `'${cell}` : cell;
}

/** csv-stringify options of every CSV export: CRLF line ends (Excel) and neutralised formulas. */
export const CSV_OPTIONS: Options = { record_delimiter: 'windows', cast: { string: neutraliseFormula } };
