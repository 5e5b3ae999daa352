/**
 * The query of the run history, `GET /v1/reconciliations?admdvs=&period=&status=&limit=&cursor=`
 * (spec §10): each parameter checked on its own, every fault named by its `?name` path in one 400.
 */
import type { Request } from 'express';
import { badRequest } from '../http/problem';
import type { FieldError } from '../schemas/validator';
import { isPeriod } from '../time';
import { decodeRunCursor, type RunCursor, type RunListFilter, type RunStatus } from './run-store';

export const RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'completed', 'failed'];
export const RUN_LIST_DEFAULT_LIMIT = 50;
export const RUN_LIST_MAX_LIMIT = 200;
const KNOWN = new Set(['admdvs', 'period', 'status', 'limit', 'cursor']);

export interface RunListQuery {
  filter: RunListFilter;
  limit: number;
  cursor?: RunCursor;
}

export function parseRunListQuery(query: Request['query']): RunListQuery {
  const errors: FieldError[] = [];
  const filter: RunListFilter = {};
  /** A parameter given once as text, or undefined; given twice (an array) or as an object, a fault. */
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') {
      errors.push({ path: `?${name}`, code: 'type', message: 'give it once, as text' });
      return undefined;
    }
    return v;
  };
  // A misspelt filter (?admvds=) must not quietly widen the list to every run in scope.
  for (const k of Object.keys(query)) {
    if (!KNOWN.has(k)) errors.push({ path: `?${k}`, code: 'additionalProperties', message: 'unknown parameter' });
  }
  const admdvs = one('admdvs');
  if (admdvs !== undefined) {
    if (/^\d{2,6}$/.test(admdvs)) filter.admdvs = admdvs;
    else errors.push({ path: '?admdvs', code: 'pattern', message: 'must be a 2–6 digit admdvs prefix' });
  }
  const period = one('period');
  if (period !== undefined) {
    if (isPeriod(period)) filter.period = period;
    else errors.push({ path: '?period', code: 'pattern', message: 'must be a period yyyy-MM' });
  }
  const status = one('status');
  if (status !== undefined) {
    if ((RUN_STATUSES as readonly string[]).includes(status)) filter.status = status as RunStatus;
    else errors.push({ path: '?status', code: 'enum', message: `must be one of ${RUN_STATUSES.join(', ')}` });
  }
  const rawLimit = one('limit');
  const limit = rawLimit === undefined ? RUN_LIST_DEFAULT_LIMIT : /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > RUN_LIST_MAX_LIMIT) {
    errors.push({ path: '?limit', code: 'range', message: `must be a whole number from 1 to ${RUN_LIST_MAX_LIMIT}` });
  }
  const rawCursor = one('cursor');
  let cursor: RunCursor | undefined;
  if (rawCursor !== undefined) {
    cursor = decodeRunCursor(rawCursor);
    if (!cursor) errors.push({ path: '?cursor', code: 'cursor', message: 'not a cursor this API returned' });
  }
  if (errors.length) throw badRequest({ en: 'invalid query parameters', zh: '查询参数无效' }, errors);
  return { filter, limit, ...(cursor ? { cursor } : {}) };
}
