/**
 * Pure mappers between the platform's 2207/2208 input (spec §9) and the exchange's Settlement
 * (spec §3). No I/O: the service hands in the envelope, the region's `platform` mapping and, for a
 * reversal, the record as stored.
 *
 * Field names follow the public HIS implementations of 2207 (setlinfo / setldetail) and 2208:
 *  - newtouch-cloud/openhis, WinServiceAPI/YiBaoInterface/Models/Output/Output_2207.cs (Chongqing,
 *    `setlinfo2207`: setl_id, mdtrt_id, psn_no, psn_name, certno, insutype, setl_time, med_type,
 *    medfee_sumamt, inscp_scp_amt, hifp_pay, cvlserv_pay, hifmi_pay, hifob_pay, maf_pay, oth_pay,
 *    fund_pay_sumamt, acct_pay, psn_cash_pay, clr_optins, clr_way, clr_type; setldetail:
 *    fund_pay_type, inscp_scp_amt, fund_payamt) and Models/Input/Input_2208.cs (data: setl_id,
 *    mdtrt_id, psn_no), Models/Input/InputPost.cs (the envelope);
 *  - liutao2019/IBORN_HIS_ALL, MEDICAL/顺德医保/…/RequestGzsiModel2207.cs (Guangdong/Foshan) — the same
 *    names on the way in.
 * Where the variants differ: the national setlinfo carries no insuplc_admdvs, mdtrtarea_admvs nor
 * fixmedins_code (they are the request envelope's header fields), and some provinces copy them into
 * setlinfo. We take setlinfo's when present, else the envelope's — the majority sends them in the
 * header only. Provinces also add fields (hifes_pay, acct_mulaid_pay, hosp_part_amt, …): they are
 * ignored, as the Settlement schema ignores unknown properties.
 */
import type { PlatformMappingDocument } from '../benefits/policy-types';
import { toCstIso } from '../time';

/** The envelope header fields a 2207 may take its region and institution from. */
export interface PlatformHeader {
  insuplc_admdvs?: unknown;
  mdtrtarea_admvs?: unknown;
  fixmedins_code?: unknown;
}

/** A field that decides the answer: `field` in the envelope's dotted form (input.setlinfo.insurer_code). */
export interface Refusal {
  field: string;
  message: string;
}

export type Mapped = { ok: true; record: Record<string, unknown> } | { ok: false; refusal: Refusal };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const present = (v: unknown) => v !== undefined && v !== null && v !== '';

/**
 * 2207 → Settlement (status valid). `mappingFor` gives the region's `platform` section for an
 * insuplc_admdvs (undefined: no region, or none configured). The exchange's own fields come from
 * setlinfo when it carries them, else from the mapping; undecidable → a Refusal naming the field.
 */
export function settlementFrom2207(
  header: PlatformHeader,
  input: Record<string, unknown>,
  mappingFor: (admdvs: string) => PlatformMappingDocument | undefined,
): Mapped {
  // A null is the platform's "not sent" (its clients serialise absent optional fields as null).
  const s = withoutNulls(input.setlinfo as Record<string, unknown>);
  const record: Record<string, unknown> = { ...s };
  for (const f of ['insuplc_admdvs', 'mdtrtarea_admvs', 'fixmedins_code'] as const) {
    if (!present(record[f]) && present(header[f])) record[f] = header[f];
  }
  if (Array.isArray(input.setldetail))
    record.setldetail = input.setldetail.map((d) => (isObject(d) ? withoutNulls(d) : d));
  else if (input.setldetail !== undefined && input.setldetail !== null) record.setldetail = input.setldetail;
  else delete record.setldetail;
  record.status = 'valid';
  const admdvs = typeof record.insuplc_admdvs === 'string' ? record.insuplc_admdvs : '';
  const mapping = /^[0-9]{6}$/.test(admdvs) ? mappingFor(admdvs) : undefined;
  const where = admdvs ? `统筹区 ${admdvs}` : '参保地统筹区';

  if (!present(s.insurer_code)) {
    const insurer =
      mapping && typeof s.insutype === 'string' ? mapping.insurer_by_insutype[s.insutype as '310' | '330'] : undefined;
    if (!insurer) {
      return refuse(
        'input.setlinfo.insurer_code',
        mapping
          ? `无法确定欠付大额医疗费用补助的保险公司：setlinfo 未提供 insurer_code，${where}的 platform 映射未配置险种 insutype=${String(s.insutype ?? '')}`
          : `无法确定欠付大额医疗费用补助的保险公司：setlinfo 未提供 insurer_code，${where}未配置 platform 映射`,
      );
    }
    record.insurer_code = insurer;
  }
  if (!present(s.setl_mode)) {
    const clrType = present(s.clr_type) ? String(s.clr_type) : undefined;
    const clrWay = present(s.clr_way) ? String(s.clr_way) : undefined;
    if (clrType === undefined && clrWay === undefined)
      return refuse(
        'input.setlinfo.clr_type',
        '无法确定结算方式：setlinfo 未提供 setl_mode，也未提供清算类别 clr_type 或清算方式 clr_way',
      );
    if (!mapping)
      return refuse(
        'input.setlinfo.setl_mode',
        `无法确定结算方式：setlinfo 未提供 setl_mode，${where}未配置 platform 映射（clr_type/clr_way 无从解释）`,
      );
    const manual =
      (clrType !== undefined && mapping.manual_clr_types.includes(clrType)) ||
      (clrWay !== undefined && mapping.manual_clr_ways.includes(clrWay));
    record.setl_mode = manual ? 'manual' : 'direct';
  }
  if (s.referral === undefined && mapping) {
    const v = s[mapping.referral_field.field];
    if (present(v)) record.referral = mapping.referral_field.true_values.includes(String(v));
  }
  return { ok: true, record };
}

/** A stored settlement row (ledger/platform-read-model.ts): the record's fields, amounts as numeric text. */
export type StoredRecord = Record<string, unknown> & {
  setl_id: string;
  mdtrt_id: string;
  psn_no: string;
  insuplc_admdvs: string;
  status: string;
  setl_time: Date;
};

const RECORD_KEYS = [
  'setl_id',
  'mdtrt_id',
  'psn_no',
  'psn_name',
  'certno',
  'insutype',
  'insuplc_admdvs',
  'mdtrtarea_admvs',
  'fixmedins_code',
  'med_type',
  'setl_time',
  'medfee_sumamt',
  'inscp_scp_amt',
  'hifp_pay',
  'hifob_pay',
  'hifmi_pay',
  'cvlserv_pay',
  'maf_pay',
  'oth_pay',
  'fund_pay_sumamt',
  'acct_pay',
  'psn_cash_pay',
  'setldetail',
  'insurer_code',
  'setl_mode',
  'referral',
] as const;

/**
 * 2208 → the Settlement as stored, sent again with status reversed (spec §3: how the feed records
 * a reversal). The 2208's mdtrt_id, psn_no and insuplc_admdvs must be the stored record's.
 */
export function reversalFrom2208(
  data: { setl_id: string; mdtrt_id: string; psn_no: string },
  insuplcAdmdvs: string | undefined,
  stored: StoredRecord,
): Mapped {
  if (stored.mdtrt_id !== data.mdtrt_id)
    return refuse('input.data.mdtrt_id', `就诊ID mdtrt_id 与结算 ${data.setl_id} 的记录不符`);
  if (stored.psn_no !== data.psn_no)
    return refuse('input.data.psn_no', `人员编号 psn_no 与结算 ${data.setl_id} 的记录不符`);
  if (insuplcAdmdvs !== undefined && insuplcAdmdvs !== stored.insuplc_admdvs)
    return refuse('insuplc_admdvs', `参保地医保区划 insuplc_admdvs 与结算 ${data.setl_id} 的记录不符`);
  const record: Record<string, unknown> = {};
  for (const k of RECORD_KEYS) {
    const v = stored[k];
    if (v === null || v === undefined) continue;
    record[k] = k === 'setl_time' ? toCstIso(v as Date) : v;
  }
  record.status = 'reversed';
  return { ok: true, record };
}

/** A Settlement-schema path of the mapped record (/medfee_sumamt, /setldetail/0/fund_payamt) as the envelope field it came from. */
export function envelopeFieldOf(path: string, referralField?: string): string {
  const parts = path
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts[0] === 'setldetail')
    return `input.setldetail${parts
      .slice(1)
      .map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${p}`))
      .join('')}`;
  if (parts[0] === 'referral' && referralField) return `input.setlinfo.${referralField}`;
  return parts.length ? `input.setlinfo.${parts.join('.')}` : 'input.setlinfo';
}

/** A JSON Pointer into the envelope (/input/data/setl_id) in the dotted form err_msg names (input.data.setl_id). */
export function dottedField(pointer: string): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') || '报文';
}

function withoutNulls(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== null) out[k] = v;
  return out;
}

function refuse(field: string, message: string): Mapped {
  return { ok: false, refusal: { field, message } };
}

export { isObject };
