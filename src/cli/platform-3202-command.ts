/**
 * `gateway platform-3202 <file> --fixmedins … --from … --to …`: an institution's detail
 * reconciliation the platform's way (spec §9) against the gateway — the file (table 200, plain or
 * .zip) checked here first, then 9101 upload, 3202 reconciliation with the file's own totals, 9102
 * download of the result (table 201), written next to the file. A progress bar on a terminal.
 * Exit code 0 balanced, 1 differences (or the gateway refused: infcode −1), 2 could not run.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import { SingleBar } from 'cli-progress';
import { unzipSync } from 'fflate';
import { sign } from '../http/signature';
import { Money } from '../money';
import { fileContent, isZipName, parseTable200 } from '../platform/detail-file';
import type { Io } from './output';

export interface Platform3202Options {
  file: string;
  fixmedins: string;
  from: string;
  to: string;
  /** 结算经办机构; default the prefecture of the fixmedins code's county (H533102… → 533100). */
  setlOptins?: string;
  refunds?: boolean;
  out?: string;
  url: string;
  clientId: string;
  secret: string;
  progress?: boolean;
}

export interface Platform3202Summary {
  rows: number;
  differences: number;
  out: string;
  resultFile: string;
}

/** The gateway answered −1 (or an HTTP problem): the message, as the gateway gave it. */
export class PlatformRefused extends Error {}

export async function runPlatform3202(o: Platform3202Options, io: Io): Promise<Platform3202Summary> {
  const steps = ['检查文件', '9101 上传', '3202 对账', '9102 下载'];
  const bar = o.progress
    ? new SingleBar({
        stream: process.stderr,
        format: 'platform-3202 [{bar}] {value}/{total} {step}',
        hideCursor: true,
      })
    : undefined;
  bar?.start(steps.length, 0, { step: steps[0] });
  try {
    const bytes = fs.readFileSync(o.file);
    const filename = path.basename(o.file);
    const content = fileContent(bytes, filename);
    const rows = content.ok ? parseTable200(content.value) : content;
    if (!rows.ok) throw new PlatformRefused(`${o.file}: ${rows.field}：${rows.message}`);
    const totals = {
      medfee_sumamt: Money.sum(rows.value.map((r) => Money.of(r.medfee_sumamt))).toString(),
      fund_pay_sumamt: Money.sum(rows.value.map((r) => Money.of(r.fund_pay_sumamt))).toString(),
      cash_payamt: Money.sum(
        rows.value.map((r) => Money.of(r.medfee_sumamt).minus(Money.of(r.fund_pay_sumamt)).minus(Money.of(r.acct_pay))),
      ).toString(),
    };
    bar?.update(1, { step: steps[1] });

    const http = axios.create({
      baseURL: o.url.replace(/\/$/, ''),
      validateStatus: () => true,
      maxBodyLength: Infinity,
      maxContentLength: Infinity,
      timeout: 600_000,
      responseType: 'arraybuffer',
    });
    const post = async (
      infno: string,
      input: Record<string, unknown>,
    ): Promise<{ json?: Record<string, unknown>; bytes: Buffer; type: string }> => {
      const body = Buffer.from(
        JSON.stringify({
          infno,
          msgid: `${o.fixmedins}${Date.now()}`.slice(0, 30),
          fixmedins_code: o.fixmedins,
          infver: 'V1.0',
          input,
        }),
        'utf8',
      );
      const id = `p3202_${crypto.randomUUID()}`;
      const ts = Math.floor(Date.now() / 1000);
      const res = await http
        .post('/v1/platform', body, {
          headers: {
            'content-type': 'application/json',
            'x-client-id': o.clientId,
            'webhook-id': id,
            'webhook-timestamp': String(ts),
            'webhook-signature': sign(o.secret, id, ts, body),
          },
        })
        .catch((e: Error) => {
          throw new Error(`the gateway at ${o.url} is not reachable: ${e.message}`);
        });
      const bytes = Buffer.from(res.data as ArrayBuffer);
      const type = String(res.headers['content-type'] ?? '');
      const json = /json/.test(type) ? (JSON.parse(bytes.toString('utf8')) as Record<string, unknown>) : undefined;
      if (res.status !== 200)
        throw new PlatformRefused(
          `${infno}: HTTP ${res.status} ${String(json?.detail ?? json?.title ?? bytes.toString('utf8').slice(0, 300))}`,
        );
      if (json && json.infcode !== 0) throw new PlatformRefused(`${infno}: ${String(json.err_msg)}`);
      return { json, bytes, type };
    };

    const up = await post('9101', {
      fsUploadIn: { in: bytes.toString('base64'), filename, fixmedins_code: o.fixmedins },
    });
    const fileQuryNo = String((up.json!.output as { file_qury_no: string }).file_qury_no);
    bar?.update(2, { step: steps[2] });
    const st = await post('3202', {
      data: {
        setl_optins: o.setlOptins ?? prefectureOf(o.fixmedins),
        file_qury_no: fileQuryNo,
        stmt_begndate: o.from,
        stmt_enddate: o.to,
        ...totals,
        fixmedins_setl_cnt: rows.value.length,
        refd_setl_flag: o.refunds ? '1' : '0',
      },
    });
    const fileinfo = (st.json!.output as { fileinfo: { file_qury_no: string; filename: string } }).fileinfo;
    bar?.update(3, { step: steps[3] });
    const dl = await post('9102', {
      fsDownloadIn: { file_qury_no: fileinfo.file_qury_no, filename: fileinfo.filename, fixmedins_code: o.fixmedins },
    });
    if (dl.json) throw new PlatformRefused(`9102: unexpected answer ${JSON.stringify(dl.json).slice(0, 300)}`);
    const out = o.out ?? path.join(path.dirname(o.file), fileinfo.filename);
    fs.writeFileSync(out, dl.bytes);
    const text = isZipName(fileinfo.filename)
      ? Buffer.from(Object.values(unzipSync(dl.bytes))[0] ?? new Uint8Array()).toString('utf8')
      : dl.bytes.toString('utf8');
    const differences = text.split('\n').filter(Boolean).length;
    bar?.update(4, { step: '完成' });
    bar?.stop();
    io.out(
      `${rows.value.length} settlements in ${o.file}; ${differences === 0 ? 'balanced (对账平衡)' : `${differences} differ (对账不平)`}; result ${fileinfo.file_qury_no} written to ${out}\n`,
    );
    return { rows: rows.value.length, differences, out, resultFile: fileinfo.file_qury_no };
  } finally {
    bar?.stop();
  }
}

/** H533102… → 533100 (the county's prefecture, the usual settling agency); anything else must be given. */
function prefectureOf(fixmedins: string): string {
  const m = /^H(\d{4})\d{2}/.exec(fixmedins);
  if (!m)
    throw new PlatformRefused(`--setl-optins is needed: ${fixmedins} does not carry a county code (H + 6 digits)`);
  return `${m[1]}00`;
}
