/**
 * 3201 (spec §9), pure: the filter a statement asks for, and the comparison of the institution's
 * totals with the agency's. Field names as in the public HIS implementations of 3201
 * (newtouch-cloud/openhis, WinServiceAPI/YiBaoInterface/Models/Input/Input_3201.cs: insutype,
 * clr_type, setl_optins, stmt_begndate, stmt_enddate, medfee_sumamt, fund_pay_sumamt, acct_pay,
 * fixmedins_setl_cnt, refd_setl_flag); output stmtinfo {setl_optins, stmt_rslt, stmt_rslt_dscr}.
 * stmt_rslt is text ("0" balanced, "1" not), as the platform answers it.
 *
 * clr_type (清算类别) is accepted and not filtered on: the exchange's Settlement does not keep it, so
 * the agency's totals are those of every settlement of the institution, insutype and dates.
 * refd_setl_flag (退费结算标志) "1": reversals count, each as a negative settlement (how the platform
 * books a refund: amounts net, the count includes both); "0" or absent: only settlements not reversed.
 */
import { Money } from '../money';
import { addDays, cstInstant } from '../time';
import type { StatementFilter, StatementTotals } from '../ledger/platform-read-model';

export interface Statement3201 {
  insutype: string;
  clr_type?: string;
  setl_optins: string;
  stmt_begndate: string;
  stmt_enddate: string;
  medfee_sumamt: string | number;
  fund_pay_sumamt: string | number;
  acct_pay: string | number;
  fixmedins_setl_cnt: string | number;
  refd_setl_flag?: '0' | '1';
}

/** The read model's filter, or the field that makes one impossible. */
export function statementFilter(
  fixmedins: string,
  d: Statement3201,
): StatementFilter | { field: string; message: string } {
  if (d.stmt_enddate < d.stmt_begndate)
    return {
      field: 'input.data.stmt_enddate',
      message: `对账结束日期 ${d.stmt_enddate} 早于开始日期 ${d.stmt_begndate}`,
    };
  // 533100 is the prefecture 5331, 530000 the province 53: a record of 533102 belongs to both.
  const prefix = d.setl_optins.replace(/(?:00)+$/, '');
  if (prefix.length < 2)
    return { field: 'input.data.setl_optins', message: `结算经办机构 ${d.setl_optins} 不是有效的医保区划` };
  return {
    fixmedins_code: fixmedins,
    admdvs_prefix: prefix,
    insutype: d.insutype,
    from: cstInstant(d.stmt_begndate),
    to: cstInstant(addDays(d.stmt_enddate, 1)),
    withRefunds: d.refd_setl_flag === '1',
  };
}

const NAMES = { medfee_sumamt: '医疗费总额', fund_pay_sumamt: '基金支付总额', acct_pay: '个人账户支付金额' } as const;

/** stmtinfo: balanced when the three totals and the count are equal; else which differ and by how much (institution − agency). */
export function compareStatement(
  d: Statement3201,
  agency: StatementTotals,
): { setl_optins: string; stmt_rslt: '0' | '1'; stmt_rslt_dscr: string } {
  const diffs: string[] = [];
  for (const f of ['medfee_sumamt', 'fund_pay_sumamt', 'acct_pay'] as const) {
    const mine = Money.of(d[f]);
    const theirs = Money.of(agency[f]);
    if (!mine.eq(theirs)) diffs.push(`${NAMES[f]} ${f} 机构 ${mine}，经办机构 ${theirs}，相差 ${mine.minus(theirs)}`);
  }
  const cnt = Number(d.fixmedins_setl_cnt);
  if (cnt !== agency.setl_cnt)
    diffs.push(`结算笔数 fixmedins_setl_cnt 机构 ${cnt}，经办机构 ${agency.setl_cnt}，相差 ${cnt - agency.setl_cnt}`);
  return diffs.length
    ? { setl_optins: d.setl_optins, stmt_rslt: '1', stmt_rslt_dscr: `对账不平：${diffs.join('；')}` }
    : {
        setl_optins: d.setl_optins,
        stmt_rslt: '0',
        stmt_rslt_dscr: `对账平衡：${agency.setl_cnt} 笔，医疗费总额 ${Money.of(agency.medfee_sumamt)}，基金支付总额 ${Money.of(agency.fund_pay_sumamt)}，个人账户支付金额 ${Money.of(agency.acct_pay)}`,
      };
}
