/**
 * 3202 (spec §9), pure: the statement's own totals against its file, the result file's lines
 * (table 201) and the declaration findings (spec §4) of the differences the ledger's comparison
 * found (ledger/statement-detail-read-model.ts). Field names as in the public HIS implementations
 * of 3202 (newtouch-cloud/openhis, WinServiceAPI/YiBaoInterface/Models/Input/Input_3202.cs: clr_type,
 * setl_optins, file_qury_no, stmt_begndate, stmt_enddate, medfee_sumamt, fund_pay_sumamt,
 * cash_payamt, fixmedins_setl_cnt; refd_setl_flag, commented out there, is taken as in 3201).
 *
 * The findings are the settlement batch's rules, not a second version (matching/rules,
 * declaration-findings.ts): the file is an institution's declaration of its settlements in those
 * dates, each line a batch item whose declared amounts are medfee_sumamt, fund_pay_sumamt and
 * acct_pay (the file has no hifob_pay, so the item carries the recorded one and it never differs):
 *  - a line whose setl_id the agency does not know → DECLARED_NOT_RECORDED, after the grace period
 *    counted from the upload (the rule's: the declaration arrived then; the same upload reconciled
 *    again after it raises what was pending, a new upload starts its own grace);
 *  - a line the agency has, amounts differing → DECLARED_AMOUNT_MISMATCH;
 *  - an owed direct settlement of the agency's that the file leaves out → RECORDED_NOT_DECLARED.
 * Refund lines (refd_setl_flag 1) appear in the result file but raise no finding: §4 has no code
 * for a reversal one side lacks.
 */
import type { WorkCalendar } from '../deadlines/calendar';
import type { LoopParams } from '../deadlines/params';
import { Money } from '../money';
import { cstInstant, periodOf, toCstIso } from '../time';
import {
  declaredAmountFindings,
  declaredNotRecordedFindings,
  recordedNotDeclaredFindings,
  type BatchItemFact,
  type EvaluationContext,
  type SettlementFact,
} from '../matching';
import type { Finding } from '../matching';
import type { DetailDifference, DetailRecord } from '../ledger/statement-detail-read-model';
import type { DetailRow, ResultRow } from './detail-file';

export interface Statement3202 {
  setl_optins: string;
  file_qury_no: string;
  stmt_begndate: string;
  stmt_enddate: string;
  medfee_sumamt: string | number;
  fund_pay_sumamt: string | number;
  cash_payamt: string | number;
  fixmedins_setl_cnt: string | number;
  refd_setl_flag?: '0' | '1';
  clr_type?: string;
}

/**
 * The statement's totals must be its file's (a truncated upload is caught here): the count of
 * lines, medfee_sumamt and fund_pay_sumamt. cash_payamt is not checked: the file has no cash column.
 */
export function totalsAgainstFile(
  d: Statement3202,
  rows: readonly DetailRow[],
): { field: string; message: string } | undefined {
  const cnt = Number(d.fixmedins_setl_cnt);
  if (cnt !== rows.length)
    return {
      field: 'input.data.fixmedins_setl_cnt',
      message: `结算笔数 ${cnt} 与文件 ${d.file_qury_no} 的明细行数 ${rows.length} 不符`,
    };
  for (const f of ['medfee_sumamt', 'fund_pay_sumamt'] as const) {
    const sum = sumOfAmounts(rows, f);
    if (!Money.of(d[f]).eq(sum))
      return {
        field: `input.data.${f}`,
        message: `${f} ${Money.of(d[f])} 与文件明细合计 ${sum} 不符，相差 ${Money.of(d[f]).minus(sum)}`,
      };
  }
  return undefined;
}

/**
 * The exact sum of a column of checked amounts (detail-file.ts: `-?digits(.d{1,2})?`), in fen as a
 * BigInt — no number arithmetic, and no Decimal per line: two Decimals per line were 0.1–0.2 s of
 * a 100,000-line 3202, this is a few ms.
 */
function sumOfAmounts(rows: readonly DetailRow[], f: 'medfee_sumamt' | 'fund_pay_sumamt'): Money {
  let fen = 0n;
  for (const r of rows) fen += fenOf(r[f]);
  const neg = fen < 0n;
  const abs = (neg ? -fen : fen).toString().padStart(3, '0');
  return Money.of(`${neg ? '-' : ''}${abs.slice(0, -2)}.${abs.slice(-2)}`);
}

/** "-12.3" → -1230n. */
function fenOf(v: string): bigint {
  const dot = v.indexOf('.');
  if (dot < 0) return BigInt(v) * 100n;
  const decimals = v.length - dot - 1;
  return BigInt(v.slice(0, dot) + v.slice(dot + 1) + (decimals === 1 ? '0' : ''));
}

const NAMES = { medfee_sumamt: '医疗费总额', fund_pay_sumamt: '基金支付总额', acct_pay: '个人账户支付' } as const;
const day = (t: Date) => toCstIso(t).slice(0, 10);

/** Table 201: one line per difference, in the file's order then the agency's. Amounts the agency's where it has the line. */
export function resultRows(diffs: readonly DetailDifference[]): ResultRow[] {
  return diffs.map((d) => {
    const a = d.agency;
    const f = d.file;
    let memo: string;
    if (f && !a) {
      memo = d.known
        ? `经办机构在本次对账范围内无此结算（其记录：结算时间 ${day(d.known.setl_time)}，医药机构 ${d.known.fixmedins_code}${d.known.status === 'reversed' ? '，已撤销' : ''}）`
        : '经办机构无此结算';
    } else if (a && !f) {
      memo = d.refd_setl_flag === '1' ? '医药机构明细中无此退费结算' : '医药机构明细中无此结算';
    } else {
      const diffsOf = (['medfee_sumamt', 'fund_pay_sumamt', 'acct_pay'] as const).flatMap((k) => {
        const mine = Money.of(f![k]);
        const theirs = Money.of(
          k === 'medfee_sumamt' ? a!.line_medfee : k === 'fund_pay_sumamt' ? a!.line_fund : a!.line_acct,
        );
        return mine.eq(theirs) ? [] : [`${NAMES[k]} ${k} 机构 ${mine}，经办机构 ${theirs}，相差 ${mine.minus(theirs)}`];
      });
      memo = `金额不符：${diffsOf.join('；')}`;
    }
    return {
      psn_no: f?.psn_no ?? a!.psn_no,
      mdtrt_id: f?.mdtrt_id ?? a!.mdtrt_id,
      setl_id: d.setl_id,
      msgid: a?.message_id ?? '',
      stmt_rslt: '1',
      refd_setl_flag: d.refd_setl_flag,
      memo,
      medfee_sumamt: Money.of(a ? a.line_medfee : f!.medfee_sumamt).toString(),
      fund_pay_sumamt: Money.of(a ? a.line_fund : f!.fund_pay_sumamt).toString(),
      acct_pay: Money.of(a ? a.line_acct : f!.acct_pay).toString(),
    };
  });
}

export interface DetailFindingContext {
  asOf: Date;
  params: LoopParams;
  calendar: WorkCalendar;
  fixmedins_code: string;
  /** The upload: its file_qury_no stands for the batch (and its message) in the evidence. */
  upload: { file_qury_no: string; received_at: Date };
  stmt_begndate: string;
}

/** The declaration findings of the differences (the batch rules, see above); `pending` when a DECLARED_NOT_RECORDED waits for its grace. */
export function detailFindings(
  diffs: readonly DetailDifference[],
  c: DetailFindingContext,
): { findings: Finding[]; pending: Date[] } {
  const ctx: EvaluationContext = { asOf: c.asOf, params: c.params, calendar: c.calendar };
  const batch = {
    batch_id: `3202 file ${c.upload.file_qury_no}`,
    message_id: c.upload.file_qury_no,
    received_at: c.upload.received_at,
  };
  const findings: Finding[] = [];
  const pending: Date[] = [];
  for (const d of diffs) {
    if (d.refd_setl_flag === '1') continue;
    const f = d.file;
    if (f && !d.agency) {
      if (!d.known) {
        const r = declaredNotRecordedFindings(d.setl_id, [item(d.setl_id, f, undefined, c, batch)], ctx);
        findings.push(...r.findings);
        pending.push(...r.pending);
      } else {
        findings.push(...declaredAmountFindings(fact(d.known), [item(d.setl_id, f, d.known, c, batch)], ctx));
      }
    } else if (f && d.agency) {
      findings.push(...declaredAmountFindings(fact(d.agency), [item(d.setl_id, f, d.agency, c, batch)], ctx));
    } else if (d.agency && !d.agency.reversed) {
      findings.push(
        ...recordedNotDeclaredFindings(fact(d.agency), { declaredItems: [], declarationReceived: batch }, ctx),
      );
    }
  }
  return { findings, pending };
}

function item(
  setlId: string,
  f: NonNullable<DetailDifference['file']>,
  r: DetailRecord | undefined,
  c: DetailFindingContext,
  batch: { batch_id: string; message_id: string; received_at: Date },
): BatchItemFact {
  const setlTime = r?.setl_time ?? cstInstant(c.stmt_begndate);
  return {
    message_id: batch.message_id,
    batch_id: batch.batch_id,
    fixmedins_code: c.fixmedins_code,
    insurer_code: r?.insurer_code ?? '',
    period: r?.period ?? periodOf(setlTime),
    setl_id: setlId,
    mdtrt_id: f.mdtrt_id,
    psn_no: f.psn_no,
    setl_time: setlTime,
    medfee_sumamt: Money.of(f.medfee_sumamt),
    // Not declared by a detail file: the recorded amount (nothing owed once reversed), so it never differs.
    hifob_pay: r && r.status === 'valid' ? Money.of(r.hifob_pay) : Money.ZERO,
    fund_pay_sumamt: Money.of(f.fund_pay_sumamt),
    acct_pay: Money.of(f.acct_pay),
    received_at: batch.received_at,
  };
}

function fact(r: DetailRecord): SettlementFact {
  return {
    setl_id: r.setl_id,
    mdtrt_id: r.mdtrt_id,
    psn_no: r.psn_no,
    insurer_code: r.insurer_code,
    fixmedins_code: r.fixmedins_code,
    insuplc_admdvs: r.insuplc_admdvs,
    setl_mode: r.setl_mode,
    status: r.status,
    setl_time: r.setl_time,
    period: r.period,
    medfee_sumamt: Money.of(r.medfee_sumamt),
    hifp_pay: Money.of(r.hifp_pay),
    hifob_pay: Money.of(r.hifob_pay),
    fund_pay_sumamt: Money.of(r.fund_pay_sumamt),
    acct_pay: Money.of(r.acct_pay),
    message_id: r.message_id,
    received_at: r.received_at,
  };
}
