/* eslint-disable */
// Generated from schemas/*.schema.json by `npm run gen:types`. Do not edit by hand.

/**
 * An agency settlement record (setlinfo/setldetail of transactions 2207/2304; a reversal, 2208, is the same record sent again with status reversed). Unknown properties are accepted and ignored, so platform exports can be sent as they are.
 */
export interface Settlement {
/**
 * An opaque identifier, 1–30 characters.
 */
setl_id: string
/**
 * An opaque identifier, 1–30 characters.
 */
mdtrt_id: string
/**
 * An opaque identifier, 1–30 characters.
 */
psn_no: string
psn_name?: string
/**
 * Resident ID number (身份证号), 18 characters passing the GB 11643 check digit.
 */
certno?: string
/**
 * Insurance type: 310 employee basic medical insurance, 330 large-expense supplementary.
 */
insutype: ("310" | "330")
/**
 * Administrative division code, 6 digits.
 */
insuplc_admdvs: string
/**
 * Administrative division code, 6 digits.
 */
mdtrtarea_admvs: string
/**
 * Designated institution code, up to 30 characters (usually H + 6-digit county code + 5 digits).
 */
fixmedins_code: string
med_type: string
/**
 * ISO 8601 with offset (2024-05-03T10:15:00+08:00), or the platform's yyyy-MM-dd HH:mm:ss read as China Standard Time.
 */
setl_time: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
medfee_sumamt: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
inscp_scp_amt: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
hifp_pay: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
hifob_pay: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
hifmi_pay?: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
cvlserv_pay?: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
maf_pay?: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
oth_pay?: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
fund_pay_sumamt: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
acct_pay: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
psn_cash_pay: (string | number)
/**
 * @maxItems 100
 */
setldetail?: {
/**
 * Fund payment type code (6 digits); the large-expense fund is 330100 unless a region says otherwise.
 */
fund_pay_type: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
inscp_scp_amt: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
fund_payamt: (string | number)
/**
 * ext: the policy segment this base belongs to (e.g. Ulanqab band_selfpay / above_cap).
 */
seg?: string
}[]
/**
 * ext: the insurer that owes hifob_pay.
 */
insurer_code: string
/**
 * ext: direct settlement (payee: the institution) or manual claim 零星报销 (payee: the person).
 */
setl_mode: ("direct" | "manual")
/**
 * ext: a referral was filed for care outside the pooling region.
 */
referral?: boolean
/**
 * ext: sending a known setl_id again with reversed records the reversal (撤销).
 */
status: ("valid" | "reversed")
}

/**
 * The agency's settlement feed as JSON: up to 100,000 records a request (or NDJSON, one Settlement a line). Each record is validated on its own: one bad record never sinks the rest.
 */
export interface SettlementFeed {
/**
 * @maxItems 100000
 */
settlements: {

}[]
}

/**
 * An institution's monthly declaration. Totals must equal the items (BATCH_TOTALS_MISMATCH), items must fall inside the period (ITEM_OUTSIDE_PERIOD), no setl_id twice (DUPLICATE_ITEM).
 */
export interface SettlementBatch {
/**
 * An opaque identifier, 1–30 characters.
 */
batch_id: string
/**
 * Designated institution code, up to 30 characters (usually H + 6-digit county code + 5 digits).
 */
fixmedins_code: string
/**
 * Insurer code, 2–20 of [A-Z0-9_].
 */
insurer_code: string
/**
 * A month, yyyy-MM.
 */
period: string
setl_cnt: number
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
medfee_sumamt: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
hifob_pay_sumamt: (string | number)
/**
 * An opaque identifier, 1–30 characters.
 */
replaces_batch_id?: string
/**
 * @maxItems 50000
 */
items: {
/**
 * An opaque identifier, 1–30 characters.
 */
setl_id: string
/**
 * An opaque identifier, 1–30 characters.
 */
mdtrt_id: string
/**
 * An opaque identifier, 1–30 characters.
 */
psn_no: string
/**
 * ISO 8601 with offset (2024-05-03T10:15:00+08:00), or the platform's yyyy-MM-dd HH:mm:ss read as China Standard Time.
 */
setl_time: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
medfee_sumamt: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
hifob_pay: (string | number)
}[]
}

/**
 * An insurer's payment callback. Σ paid_amount must equal pay_amount (PAY_AMOUNT_MISMATCH); a rejected_amount > 0 needs a known reject_reason_code, and R99 needs reject_reason.
 */
export interface InsurerPayment {
/**
 * Insurer code, 2–20 of [A-Z0-9_].
 */
insurer_code: string
/**
 * An opaque identifier, 1–30 characters.
 */
payment_id: string
payee_type: ("institution" | "person")
/**
 * An opaque identifier, 1–30 characters.
 */
payee_id: string
/**
 * ISO 8601 with offset (2024-05-03T10:15:00+08:00), or the platform's yyyy-MM-dd HH:mm:ss read as China Standard Time.
 */
pay_time: string
bank_txn_no: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
pay_amount: (string | number)
/**
 * @minItems 1
 * @maxItems 50000
 */
lines: [{
/**
 * An opaque identifier, 1–30 characters.
 */
setl_id: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
paid_amount: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
rejected_amount?: (string | number)
/**
 * R01 outside the catalogue (目录外), R02 over price limit (超限价), R03 unreasonable treatment (不合理诊疗), R04 duplicate charge (重复收费), R05 missing documents (材料不全), R99 other (requires a reason).
 */
reject_reason_code?: ("R01" | "R02" | "R03" | "R04" | "R05" | "R99")
reject_reason?: string
}, ...({
/**
 * An opaque identifier, 1–30 characters.
 */
setl_id: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
paid_amount: (string | number)
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
rejected_amount?: (string | number)
/**
 * R01 outside the catalogue (目录外), R02 over price limit (超限价), R03 unreasonable treatment (不合理诊疗), R04 duplicate charge (重复收费), R05 missing documents (材料不全), R99 other (requires a reason).
 */
reject_reason_code?: ("R01" | "R02" | "R03" | "R04" | "R05" | "R99")
reject_reason?: string
})[]]
}

/**
 * An amount recovered (追回) after payment. A recovery larger than what was paid for the settlement is refused (RECOVERY_EXCEEDS_PAID).
 */
export interface Recovery {
/**
 * Insurer code, 2–20 of [A-Z0-9_].
 */
insurer_code: string
/**
 * An opaque identifier, 1–30 characters.
 */
recovery_id: string
/**
 * An opaque identifier, 1–30 characters.
 */
setl_id: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
amount: (string | number)
/**
 * R01 outside the catalogue (目录外), R02 over price limit (超限价), R03 unreasonable treatment (不合理诊疗), R04 duplicate charge (重复收费), R05 missing documents (材料不全), R99 other (requires a reason).
 */
reason_code: ("R01" | "R02" | "R03" | "R04" | "R05" | "R99")
reason?: string
/**
 * ISO 8601 with offset (2024-05-03T10:15:00+08:00), or the platform's yyyy-MM-dd HH:mm:ss read as China Standard Time.
 */
recovered_at: string
}

/**
 * An insurer's monthly spending plan (支出计划). Revisions of the same (insurer_code, period) are kept; the latest revision counts. Item amounts must add up to planned_amount (PLAN_TOTALS_MISMATCH). An insurer with a plan attributed to a region has a row in that region's reconciliation.
 */
export interface SpendingPlan {
/**
 * Insurer code, 2–20 of [A-Z0-9_].
 */
insurer_code: string
/**
 * A month, yyyy-MM.
 */
period: string
revision: number
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
planned_amount: (string | number)
/**
 * ext: the region (an admdvs prefix of 2–6 digits) the plan is for. Without it, the plan belongs to every region in which the insurer owes or pays settlements.
 */
admdvs?: string
/**
 * @maxItems 50000
 */
items?: {
/**
 * Designated institution code, up to 30 characters (usually H + 6-digit county code + 5 digits).
 */
fixmedins_code: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
amount: (string | number)
}[]
}

/**
 * Funds disbursed to an insurer on the agency's approved plan (finance, 000 §1–2). It counts only in reconciliations of regions inside the sending agency's scope.
 */
export interface Disbursement {
/**
 * An opaque identifier, 1–30 characters.
 */
disbursement_id: string
/**
 * Insurer code, 2–20 of [A-Z0-9_].
 */
insurer_code: string
/**
 * A month, yyyy-MM.
 */
period: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
amount: (string | number)
/**
 * ISO 8601 with offset (2024-05-03T10:15:00+08:00), or the platform's yyyy-MM-dd HH:mm:ss read as China Standard Time.
 */
disbursed_at: string
/**
 * ext: the region (an admdvs prefix of 2–6 digits) the disbursement is for; it must lie inside the sending agency's scope (403 otherwise). Without it, the disbursement belongs to every region inside the sending agency's scope in which the insurer owes, pays or is planned for settlements.
 */
admdvs?: string
}

/**
 * RFC 9457 problem document (application/problem+json). Each error names a JSON Pointer into the request body.
 */
export interface Problem {
type: string
title: string
status: number
detail?: string
instance?: string
request_id?: string
errors?: {
/**
 * JSON Pointer (RFC 6901) into the request body; "" is the whole body.
 */
path: string
code: string
message: string
}[]
}

/**
 * Premiums collected by tax (or the agency) for the large-expense fund (spec §8; 000 §1, 001 art. 7, 003 art. 47): what the `tax` account received for its region and month. Where the region configures a premium for the payer_type, amount must equal insured_count × that premium, or PREMIUM_RATE_MISMATCH is raised (the message is still accepted).
 */
export interface PremiumCollection {
/**
 * An opaque identifier, 1–30 characters.
 */
collection_id: string
/**
 * Where collected (6 digits); it must lie inside the sender's scope (403 otherwise).
 */
admdvs: string
/**
 * The fund year the premiums are for, yyyy.
 */
fund_year: string
/**
 * The month collected.
 */
period: string
/**
 * Who paid: employer (单位), employee (在职个人), retiree (退休个人), flexible (灵活就业人员), finance (财政).
 */
payer_type: ("employer" | "employee" | "retiree" | "flexible" | "finance")
/**
 * Insured persons the premiums are for.
 */
insured_count: number
/**
 * Premiums collected, without late fees.
 */
amount: (string | number)
/**
 * Late fees (滞纳金) collected with them; default 0.
 */
late_fee?: (string | number)
/**
 * ISO 8601 with offset (2024-05-03T10:15:00+08:00), or the platform's yyyy-MM-dd HH:mm:ss read as China Standard Time.
 */
collected_at: string
}

/**
 * An account of the fund (spec §8).
 */
export type FundAccount = ("tax" | "treasury" | "county_account" | "special_account" | "expenditure_account")

/**
 * Premiums moved from one of the fund's accounts to another (spec §8; 000 §1, 003 art. 47): tax (collected, not yet paid over), treasury (市级国库), county_account (a county's fund account), special_account (财政专户, where the fund lives), expenditure_account (支出户). admdvs and period name whose premiums it moves: the region where they were collected and the month, so a pass-through account's received and passed_on meet per region and period.
 */
export interface FundTransfer {
/**
 * An opaque identifier, 1–30 characters.
 */
transfer_id: string
/**
 * The region whose premiums are moved (6 digits); it must lie inside the sender's scope (403 otherwise).
 */
admdvs: string
/**
 * The fund year the premiums are for, yyyy.
 */
fund_year: string
/**
 * The month of the premiums moved (the period their account received them for).
 */
period: string
from_account: FundAccount
to_account: FundAccount
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
amount: (string | number)
/**
 * ISO 8601 with offset (2024-05-03T10:15:00+08:00), or the platform's yyyy-MM-dd HH:mm:ss read as China Standard Time.
 */
transferred_at: string
bank_txn_no?: string
}

/**
 * An insurer's operating and administration costs of a fund year in a region (spec §8; 001 art. 21, 000 §4). Revisions of the same (insurer_code, admdvs, fund_year) are kept; the latest revision counts.
 */
export interface InsurerCostReport {
/**
 * Insurer code, 2–20 of [A-Z0-9_].
 */
insurer_code: string
/**
 * The region (an admdvs prefix of 2–6 digits) the costs are for, as disbursements and spending plans name it.
 */
admdvs: string
/**
 * The fund year, yyyy.
 */
fund_year: string
revision: number
/**
 * Operating cost (运营成本) of the year.
 */
operating_cost: (string | number)
/**
 * Administration cost (经办费用) of the year, where reported apart.
 */
admin_cost?: (string | number)
/**
 * @maxItems 1000
 */
items?: {
category: string
/**
 * Yuan with at most 2 decimals, as a string ("1234.56") or a JSON number with at most 2 decimals and 15 significant digits; 0 ≤ x < 10^14.
 */
amount: (string | number)
}[]
/**
 * ISO 8601 with offset (2024-05-03T10:15:00+08:00), or the platform's yyyy-MM-dd HH:mm:ss read as China Standard Time.
 */
reported_at: string
}
