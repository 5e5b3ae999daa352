/**
 * `gateway import <file>`: send an agency settlement file to POST /v1/agency/settlements as signed
 * NDJSON chunks, and account for every line. Rows that cannot even be converted are reported here;
 * records the gateway rejects are mapped back from the per-record result's index to the file's line.
 * A chunk's webhook-id is derived from its bytes, so re-running an import is a retransmission, not
 * a new message (duplicates are counted, nothing is stored twice).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import axios, { type AxiosInstance } from 'axios';
import { SingleBar } from 'cli-progress';
import { sign } from '../http/signature';
import { readSettlementFile, type Encoding, type FileRow, type LocalError } from './settlement-file';
import type { Io } from './output';

export interface ImportOptions {
  file: string;
  format?: string;
  encoding?: Encoding;
  url: string;
  clientId: string;
  secret: string;
  errorsFile?: string;
  chunkSize?: number;
  progress?: boolean;
}

export interface ImportSummary {
  rows: number;
  accepted: number;
  duplicates: number;
  rejected: number;
  rejectedLocally: number;
  encoding?: Encoding;
  errorsFile?: string;
}

interface LineError {
  line: number;
  setl_id?: string;
  source: 'file' | 'gateway';
  errors: LocalError[];
}

/** A failure that stops the import (authentication, scope, an unreachable gateway). */
export class ImportAborted extends Error {}

export async function runImport(o: ImportOptions, io: Io): Promise<ImportSummary> {
  const read = await readSettlementFile(o.file, { format: o.format, encoding: o.encoding });
  const failures: LineError[] = [];
  const good: FileRow[] = [];
  for (const r of read.rows) {
    if (r.errors) failures.push({ line: r.line, source: 'file', errors: r.errors });
    else good.push(r);
  }
  const summary: ImportSummary = {
    rows: read.rows.length,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    rejectedLocally: failures.length,
    encoding: read.encoding,
  };
  const http = axios.create({
    baseURL: o.url.replace(/\/$/, ''),
    validateStatus: () => true,
    maxBodyLength: Infinity,
    maxContentLength: Infinity,
    timeout: 300_000,
  });
  const bar = o.progress
    ? new SingleBar({
        stream: process.stderr,
        format: 'importing [{bar}] {value}/{total} records | {eta_formatted} left',
        hideCursor: true,
      })
    : undefined;
  bar?.start(good.length, 0);
  const size = o.chunkSize ?? 5000;
  try {
    for (let i = 0; i < good.length; i += size) {
      const chunk = good.slice(i, i + size);
      const r = await sendChunk(http, o, chunk);
      summary.accepted += r.accepted;
      summary.duplicates += r.duplicates;
      for (const rej of r.rejected) {
        const row = chunk[rej.index];
        failures.push({
          line: row?.line ?? -1,
          setl_id: typeof row?.record?.setl_id === 'string' ? row.record.setl_id : undefined,
          source: 'gateway',
          errors: rej.errors,
        });
      }
      bar?.update(Math.min(i + size, good.length));
    }
  } finally {
    bar?.stop();
  }
  summary.rejected = failures.length;
  if (failures.length || o.errorsFile) {
    summary.errorsFile = o.errorsFile ?? `${o.file}.errors.ndjson`;
    failures.sort((a, b) => a.line - b.line);
    fs.writeFileSync(
      summary.errorsFile,
      failures.map((f) => JSON.stringify(f)).join('\n') + (failures.length ? '\n' : ''),
    );
  }
  io.out(
    `${o.file}: ${summary.rows} rows${read.encoding ? ` (${read.encoding})` : ''} — accepted ${summary.accepted}, duplicates ${summary.duplicates}, rejected ${summary.rejected}` +
      (summary.rejected
        ? ` (${summary.rejectedLocally} could not be read; ${summary.rejected - summary.rejectedLocally} refused by the gateway); line numbers and reasons in ${summary.errorsFile}`
        : '') +
      '\n',
  );
  return summary;
}

interface ChunkResult {
  accepted: number;
  duplicates: number;
  rejected: { index: number; errors: LocalError[] }[];
}

async function sendChunk(http: AxiosInstance, o: ImportOptions, chunk: FileRow[]): Promise<ChunkResult> {
  const body = Buffer.from(chunk.map((r) => JSON.stringify(r.record)).join('\n') + '\n', 'utf8');
  const webhookId = `imp_${crypto.createHash('sha256').update(body).digest('hex').slice(0, 48)}`;
  for (let attempt = 1; ; attempt++) {
    const ts = Math.floor(Date.now() / 1000);
    let res;
    try {
      res = await http.post('/v1/agency/settlements', body, {
        headers: {
          'content-type': 'application/x-ndjson',
          'x-client-id': o.clientId,
          'webhook-id': webhookId,
          'webhook-timestamp': String(ts),
          'webhook-signature': sign(o.secret, webhookId, ts, body),
        },
      });
    } catch (e) {
      if (attempt >= 5) throw new ImportAborted(`the gateway at ${o.url} is not reachable: ${(e as Error).message}`);
      await pause(attempt * 1000);
      continue;
    }
    const data = (res.data ?? {}) as Partial<ChunkResult> & { detail?: string; errors?: LocalError[] };
    if (res.status === 200 || res.status === 202 || (res.status === 422 && Array.isArray(data.rejected))) {
      return { accepted: data.accepted ?? 0, duplicates: data.duplicates ?? 0, rejected: data.rejected ?? [] };
    }
    // Rate limit or a gateway busy/unavailable: the same bytes under the same webhook-id are safe to resend.
    if ((res.status === 429 || res.status >= 500) && attempt < 5) {
      await pause(Number(res.headers['retry-after']) * 1000 || attempt * 1000);
      continue;
    }
    throw new ImportAborted(`the gateway answered ${res.status}: ${data.detail ?? JSON.stringify(data).slice(0, 300)}`);
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
