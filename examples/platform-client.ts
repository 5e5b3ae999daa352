/**
 * The gateway's platform interface (POST /v1/platform, docs/integration-guide.md §9) from a hospital
 * information system's point of view: the envelope your HIS already builds for the national platform
 * ({infno, msgid, …, input}), sent to a new address with a Standard Webhooks signature. Plain Node 20
 * (fetch, node:crypto); nothing of this project is imported, so copy it into your own code.
 *
 *   1. 2207: one settlement, sent as the agency (经办机构 — the only role that may send 2207);
 *   2. 3201: the hospital (定点医药机构) reconciles that day's totals for the same institution.
 *
 *   GATEWAY_URL=http://127.0.0.1:8080 AGENCY_ID=… AGENCY_SECRET=whsec_… HIS_ID=… HIS_SECRET=whsec_… \
 *     node --import tsx examples/platform-client.ts
 *
 * HIS_SM2_PRIVATE_KEY=<hex, sm-crypto's form> signs the 3201 with SM2 (v1sm2; `npm i sm-crypto`)
 * instead of HIS_SECRET: the gateway then holds only your public key. Exit status 0 when both answers
 * are infcode 0 and the 3201 balances (stmt_rslt "0").
 */
import crypto from 'node:crypto';

const { GATEWAY_URL = 'http://127.0.0.1:8080', AGENCY_ID, AGENCY_SECRET, HIS_ID, HIS_SECRET, HIS_SM2_PRIVATE_KEY } = process.env;

// The settlement in the platform's field names (setlinfo + setldetail of 2207). The region and the
// institution travel in the envelope's header, as on the national platform.
const header = { insuplc_admdvs: '999901', mdtrtarea_admvs: '999901', fixmedins_code: 'H53310200001' };
const setlinfo = {
  setl_id: 'S0001', mdtrt_id: 'M0001', psn_no: 'P0001', insutype: '310', med_type: '21', setl_time: '2025-03-10 09:30:00',
  medfee_sumamt: '10000.00', inscp_scp_amt: '9000.00', hifp_pay: '5000.00', hifob_pay: '1000.00', fund_pay_sumamt: '6000.00',
  acct_pay: '100.00', psn_cash_pay: '3900.00', clr_type: '21', clr_way: '1', refl_flag: '0', // clr_type/refl_flag: the region file maps them
};
const setldetail = [{ fund_pay_type: '310100', inscp_scp_amt: '5000.00', fund_payamt: '5000.00' }, { fund_pay_type: '330100', inscp_scp_amt: '4000.00', fund_payamt: '1000.00' }];

/** The signature over `{webhook-id}.{webhook-timestamp}.{body}` — the exact bytes sent, never re-serialised. */
async function sign(text: string, secret?: string, sm2Key?: string): Promise<string> {
  if (sm2Key) { // SM2 with SM3 and the default ID 1234567812345678, DER: what `v1sm2` means
    const { sm2 } = await import('sm-crypto');
    return `v1sm2,${Buffer.from(sm2.doSignature([...Buffer.from(text)], sm2Key, { hash: true, der: true }), 'hex').toString('base64')}`;
  }
  if (!secret) throw new Error('set the client\'s secret (whsec_…) or HIS_SM2_PRIVATE_KEY');
  return `v1,${crypto.createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(text).digest('base64')}`; // HMAC-SHA256
}

interface Answer { infcode: number; err_msg: string | null; output: { stmtinfo?: { stmt_rslt: string; stmt_rslt_dscr: string } } | null }

/** One transaction: the envelope, signed, posted; a 200 carries infcode 0 or −1 (err_msg names the field). */
async function post(infno: string, input: object, clientId?: string, secret?: string, sm2Key?: string): Promise<Answer> {
  if (!clientId) throw new Error(`${infno}: set the client id (AGENCY_ID for 2207, HIS_ID for 3201)`);
  const infTime = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 19).replace('T', ' '); // China Standard Time
  const msgid = `${header.fixmedins_code}${infTime.replace(/\D/g, '')}${String(crypto.randomInt(10_000)).padStart(4, '0')}`;
  const body = JSON.stringify({ infno, msgid, ...header, inf_time: infTime, input });
  const id = `msg_${crypto.randomUUID()}`; // unique per message: a reused id with another body is refused
  const ts = Math.floor(Date.now() / 1000); // Unix seconds, accepted within ±300 s of the gateway's clock
  const res = await fetch(`${GATEWAY_URL}/v1/platform`, { method: 'POST', body, headers: {
    'content-type': 'application/json', 'x-client-id': clientId, 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': await sign(`${id}.${ts}.${body}`, secret, sm2Key),
  } });
  if (res.status !== 200) throw new Error(`${infno}: HTTP ${res.status} ${await res.text()}`); // signature, scope, size: an RFC 9457 problem
  return (await res.json()) as Answer;
}

async function main(): Promise<void> {
  const a = await post('2207', { setlinfo, setldetail }, AGENCY_ID, AGENCY_SECRET);
  console.log(`2207 infcode=${a.infcode} err_msg=${a.err_msg} output=${JSON.stringify(a.output)}`); // sent again: output.duplicate true
  const day = setlinfo.setl_time.slice(0, 10); // the day's totals as the HIS counts them: here, the one settlement
  const data = { insutype: '310', clr_type: '21', setl_optins: `${header.insuplc_admdvs.slice(0, 4)}00`, stmt_begndate: day, stmt_enddate: day,
    medfee_sumamt: setlinfo.medfee_sumamt, fund_pay_sumamt: setlinfo.fund_pay_sumamt, acct_pay: setlinfo.acct_pay, fixmedins_setl_cnt: 1, refd_setl_flag: '0' };
  const s = await post('3201', { data }, HIS_ID, HIS_SECRET, HIS_SM2_PRIVATE_KEY);
  console.log(`3201 infcode=${s.infcode} err_msg=${s.err_msg} stmt_rslt=${s.output?.stmtinfo?.stmt_rslt} ${s.output?.stmtinfo?.stmt_rslt_dscr ?? ''}`);
  process.exitCode = a.infcode === 0 && s.infcode === 0 && s.output?.stmtinfo?.stmt_rslt === '0' ? 0 : 1;
}

main().catch((e: unknown) => { console.error(e instanceof Error ? e.message : e); process.exitCode = 2; });
