/**
 * 9101 / 3202 / 9102 (spec §9): an institution uploads its detail file, reconciles it against the
 * agency's records, and downloads the result. Decides and opens the transactions; the SQL is the
 * stores' (file-store.ts for the files, ledger/statement-detail-read-model.ts for the comparison,
 * discrepancies/case-store.ts for the findings). Every refusal is returned as {field, message}
 * (the envelope's −1); only scope throws, a 403 problem, as for 3201.
 */
import crypto from 'node:crypto';
import type { Db } from '../db/db';
import type { Client } from '../http/clients';
import { inScope } from '../http/auth';
import { forbidden } from '../http/problem';
import type { WorkCalendar } from '../deadlines/calendar';
import type { LoopParams } from '../deadlines/params';
import { syncGroups } from '../discrepancies/case-store';
import { subjectKey } from '../matching';
import { compareDetail } from '../ledger/statement-detail-read-model';
import { toCstIso } from '../time';
import {
  DETAIL_LIMITS,
  decodeUploadIn,
  fileContent,
  isZipName,
  parseTable200,
  writeTable201,
  zipOne,
  type DetailLimits,
  type DetailRow,
} from './detail-file';
import { detailFindings, resultRows, totalsAgainstFile, type Statement3202 } from './detail-statement';
import { insertPlatformFile, loadPlatformFile, lockStatementGroup, type PlatformFile } from './file-store';
import { statementFilter, type Statement3201 } from './statement';

export interface DetailDeps {
  db: Db;
  now: () => number;
  calendar: WorkCalendar;
  /** The region's loop parameters (grace period) for an admdvs. */
  loopParamsFor: (admdvs: string) => LoopParams;
  limits?: DetailLimits;
}

/** How long a stored file may be downloaded (9102), as the platform's dld_endtime says. */
export const DOWNLOAD_DAYS = 30;

export type DetailOutcome<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

/** The answer of a 9102: the file itself, not an envelope. */
export interface DownloadedFile {
  filename: string;
  zipped: boolean;
  content: Buffer;
}

const platformTime = (t: Date) => toCstIso(t).slice(0, 19).replace('T', ' ');
const no = (field: string, message: string) => ({ ok: false as const, field, message });

/** 文件查询号: F + CST yyyyMMddHHmmss + 15 random hex (30 characters, the platform's length). */
function fileQuryNo(at: Date): string {
  return `F${toCstIso(at).slice(0, 19).replace(/\D/g, '')}${crypto.randomBytes(8).toString('hex').slice(0, 15)}`;
}

function outOfScope(client: Client, fixmedins: string, path: string): Error {
  return forbidden(
    {
      en: `${fixmedins} is outside client ${client.client_id}'s scope`,
      zh: `${fixmedins} 不在客户端 ${client.client_id} 的授权范围内`,
    },
    [{ path, code: 'OUT_OF_SCOPE', message: `${fixmedins} 不在授权范围内` }],
  );
}

interface UploadIn {
  in?: unknown;
  filename: string;
  fixmedins_code: string;
}

/** 9101: check and keep the file (table 200, maybe zipped) → {file_qury_no, filename, dld_endtime}. */
export async function upload9101(
  deps: DetailDeps,
  client: Client,
  env: Record<string, unknown>,
): Promise<DetailOutcome<Record<string, unknown>>> {
  const up = (env.input as { fsUploadIn: UploadIn }).fsUploadIn;
  if (!inScope(client, { fixmedins_code: up.fixmedins_code }))
    throw outOfScope(client, up.fixmedins_code, '/input/fsUploadIn/fixmedins_code');
  if (typeof env.fixmedins_code === 'string' && env.fixmedins_code !== '' && env.fixmedins_code !== up.fixmedins_code) {
    return no(
      'input.fsUploadIn.fixmedins_code',
      `文件的医药机构编号 ${up.fixmedins_code} 与报文头 fixmedins_code ${env.fixmedins_code} 不符`,
    );
  }
  const bytes = decodeUploadIn(up.in);
  if (!bytes.ok) return bytes;
  const rows = readRows(bytes.value, up.filename, deps.limits);
  if (!rows.ok) return rows;
  const at = new Date(deps.now());
  const file: PlatformFile = {
    file_qury_no: fileQuryNo(at),
    kind: 'upload',
    fixmedins_code: up.fixmedins_code,
    client_id: client.client_id,
    filename: up.filename,
    zipped: isZipName(up.filename),
    content: bytes.value,
    sha256: crypto.createHash('sha256').update(bytes.value).digest('hex'),
    row_count: rows.value.length,
    source_file: null,
    statement: null,
    created_at: at,
    dld_endtime: new Date(at.getTime() + DOWNLOAD_DAYS * 86_400_000),
  };
  await insertPlatformFile(deps.db, file);
  return {
    ok: true,
    value: {
      file_qury_no: file.file_qury_no,
      filename: file.filename,
      dld_endtime: platformTime(file.dld_endtime),
      row_count: file.row_count,
    },
  };
}

function readRows(
  bytes: Uint8Array,
  filename: string,
  limits: DetailLimits = DETAIL_LIMITS,
): DetailOutcome<DetailRow[]> {
  const content = fileContent(bytes, filename, limits);
  if (!content.ok) return content;
  return parseTable200(content.value, limits);
}

/**
 * 3202: the uploaded file against the agency's records of its institution in those dates, in one
 * transaction — the comparison, the result file, and the findings synced as the statement's group
 * (stmt:<fixmedins>:<begndate>:<enddate>: a later 3202 of the same dates resolves what it no longer finds).
 */
export async function statement3202(
  deps: DetailDeps,
  client: Client,
  env: Record<string, unknown>,
): Promise<DetailOutcome<Record<string, unknown>>> {
  const d = (env.input as { data: Statement3202 }).data;
  const upload = await loadPlatformFile(deps.db, d.file_qury_no);
  if (!upload || upload.kind !== 'upload')
    return no('input.data.file_qury_no', `文件查询号 ${d.file_qury_no} 未找到：须先以 9101 上传明细文件`);
  if (!inScope(client, { fixmedins_code: upload.fixmedins_code }))
    throw outOfScope(client, upload.fixmedins_code, '/input/data/file_qury_no');
  const header = typeof env.fixmedins_code === 'string' && env.fixmedins_code !== '' ? env.fixmedins_code : undefined;
  if (header !== undefined && header !== upload.fixmedins_code)
    return no(
      'fixmedins_code',
      `报文头 fixmedins_code ${header} 与文件 ${d.file_qury_no} 的医药机构 ${upload.fixmedins_code} 不符`,
    );
  const filter = statementFilter(upload.fixmedins_code, { ...d, insutype: '', acct_pay: 0 } as Statement3201);
  if ('field' in filter) return no(filter.field, filter.message);
  const rows = readRows(upload.content, upload.filename, deps.limits);
  if (!rows.ok) return rows;
  const totals = totalsAgainstFile(d, rows.value);
  if (totals) return no(totals.field, totals.message);

  const asOf = new Date(deps.now());
  const groupKey = subjectKey({
    kind: 'statement',
    fixmedins_code: upload.fixmedins_code,
    begndate: d.stmt_begndate,
    enddate: d.stmt_enddate,
  });
  const result = await deps.db.tx(async (q) => {
    await lockStatementGroup(q, groupKey);
    const diffs = await compareDetail(q, filter, rows.value);
    const lines = resultRows(diffs);
    const { findings } = detailFindings(diffs, {
      asOf,
      params: deps.loopParamsFor(d.setl_optins),
      calendar: deps.calendar,
      fixmedins_code: upload.fixmedins_code,
      upload: { file_qury_no: upload.file_qury_no, received_at: upload.created_at },
      stmt_begndate: d.stmt_begndate,
    });
    await syncGroups(q, [{ groupKey, findings }], asOf, client.client_id);
    const text = writeTable201(lines);
    const name = `3202_${upload.file_qury_no}.txt`;
    const content = Buffer.from(upload.zipped ? zipOne(name, text) : text);
    const file: PlatformFile = {
      file_qury_no: fileQuryNo(asOf),
      kind: 'result',
      fixmedins_code: upload.fixmedins_code,
      client_id: client.client_id,
      filename: upload.zipped ? `${name}.zip` : name,
      zipped: upload.zipped,
      content,
      sha256: crypto.createHash('sha256').update(content).digest('hex'),
      row_count: lines.length,
      source_file: upload.file_qury_no,
      statement: { ...d, differences: lines.length, findings: findings.length },
      created_at: asOf,
      dld_endtime: new Date(asOf.getTime() + DOWNLOAD_DAYS * 86_400_000),
    };
    await insertPlatformFile(q, file);
    return { file, differences: lines.length };
  });
  return {
    ok: true,
    value: {
      fileinfo: {
        file_qury_no: result.file.file_qury_no,
        filename: result.file.filename,
        dld_endtime: platformTime(result.file.dld_endtime),
      },
      stmtinfo: {
        setl_optins: d.setl_optins,
        stmt_rslt: result.differences ? '1' : '0',
        stmt_rslt_dscr: result.differences
          ? `对账不平：${result.differences} 笔结算不符，见结果文件`
          : `对账平衡：${rows.value.length} 笔`,
      },
    },
  };
}

/** 9102: a stored file's bytes, to the institution it belongs to, until its dld_endtime. */
export async function download9102(
  deps: DetailDeps,
  client: Client,
  env: Record<string, unknown>,
): Promise<DetailOutcome<DownloadedFile>> {
  const d = (env.input as { fsDownloadIn: { file_qury_no: string; filename?: string } }).fsDownloadIn;
  const file = await loadPlatformFile(deps.db, d.file_qury_no);
  if (!file) return no('input.fsDownloadIn.file_qury_no', `文件查询号 ${d.file_qury_no} 未找到`);
  if (!inScope(client, { fixmedins_code: file.fixmedins_code }))
    throw outOfScope(client, file.fixmedins_code, '/input/fsDownloadIn/file_qury_no');
  if (deps.now() > file.dld_endtime.getTime())
    return no(
      'input.fsDownloadIn.file_qury_no',
      `文件 ${d.file_qury_no} 已过下载截止时间 ${platformTime(file.dld_endtime)}`,
    );
  return { ok: true, value: { filename: file.filename, zipped: file.zipped, content: file.content } };
}
