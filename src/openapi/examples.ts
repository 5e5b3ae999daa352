/**
 * Example bodies for the document, as literals (the shapes of test/support/fixtures.ts: Dehong,
 * 2025-03; the certno passes GB 11643). Kept literal so the docs never depend on test code.
 */
const settlement = {
  setl_id: 'S0001', mdtrt_id: 'M0001', psn_no: 'P0001', psn_name: '张三', certno: '11010519491231002X',
  insutype: '310', insuplc_admdvs: '533102', mdtrtarea_admvs: '533102', fixmedins_code: 'H53310200001', med_type: '21',
  setl_time: '2025-03-10 09:30:00', medfee_sumamt: '300000.00', inscp_scp_amt: '280000.00', hifp_pay: '180000.00', hifob_pay: '90000.00',
  fund_pay_sumamt: '270000.00', acct_pay: '0.00', psn_cash_pay: '30000.00',
  setldetail: [{ fund_pay_type: '310100', inscp_scp_amt: '180000.00', fund_payamt: '180000.00' }, { fund_pay_type: '330100', inscp_scp_amt: '100000.00', fund_payamt: '90000.00' }],
  insurer_code: 'PICC_DH', setl_mode: 'direct', referral: false, status: 'valid',
};

const discrepancy = {
  id: '01960f3a-7c1e-7a2b-9d4e-5f6a7b8c9d0e', code: 'PAYMENT_OVERDUE', severity: 'high', status: 'open', admdvs: '533102',
  insurer_code: 'PICC_DH', fixmedins_code: 'H53310200001', period: '2025-03', setl_id: 'S0001', subject_key: 'settlement:S0001',
  expected_amount: '90000.00', actual_amount: '0.00', difference: '90000.00', detail: 'owed 90000.00, not paid by 2025-04-30',
  evidence: { due_at: '2025-04-30T23:59:59+08:00' }, occurrences: 1, detected_at: '2025-05-01T02:30:00+08:00', updated_at: '2025-05-01T02:30:00+08:00',
};

export const EXAMPLES: Record<string, unknown> = {
  settlement,
  settlementFeed: { settlements: [settlement, { ...settlement, setl_id: 'S0002', mdtrt_id: 'M0002', psn_no: 'P0002', psn_name: '李四', certno: undefined, setl_mode: 'manual' }] },
  settlementNdjson: `${JSON.stringify(settlement)}\n${JSON.stringify({ ...settlement, setl_id: 'S0001', status: 'reversed' })}\n`,
  settlementBatch: {
    batch_id: 'B-H1-2025-03', fixmedins_code: 'H53310200001', insurer_code: 'PICC_DH', period: '2025-03', setl_cnt: 1,
    medfee_sumamt: '300000.00', hifob_pay_sumamt: '90000.00',
    items: [{ setl_id: 'S0001', mdtrt_id: 'M0001', psn_no: 'P0001', setl_time: '2025-03-10 09:30:00', medfee_sumamt: '300000.00', hifob_pay: '90000.00' }],
  },
  insurerPayment: {
    insurer_code: 'PICC_DH', payment_id: 'PAY-0001', payee_type: 'institution', payee_id: 'H53310200001', pay_time: '2025-04-15T10:00:00+08:00',
    bank_txn_no: 'BK20250415001', pay_amount: '90000.00', lines: [{ setl_id: 'S0001', paid_amount: '90000.00' }],
  },
  recovery: { insurer_code: 'PICC_DH', recovery_id: 'REC-0001', setl_id: 'S0001', amount: '1000.00', reason_code: 'R01', recovered_at: '2025-05-20T10:00:00+08:00' },
  spendingPlan: { insurer_code: 'PICC_DH', period: '2025-03', revision: 1, planned_amount: '90000.00', admdvs: '5331', items: [{ fixmedins_code: 'H53310200001', amount: '90000.00' }] },
  disbursement: { disbursement_id: 'D-2025-03-PICC', insurer_code: 'PICC_DH', period: '2025-03', amount: '90000.00', disbursed_at: '2025-04-20T09:00:00+08:00', admdvs: '5331' },
  premiumCollection: { collection_id: 'PC-150902-2025-01-EMP', admdvs: '150902', fund_year: '2025', period: '2025-01', payer_type: 'employer', insured_count: 1000, amount: '120000.00', late_fee: '0.00', collected_at: '2025-01-20T10:00:00+08:00' },
  fundTransfer: { transfer_id: 'FT-150902-2025-01-TAX', admdvs: '150902', fund_year: '2025', period: '2025-01', from_account: 'tax', to_account: 'county_account', amount: '120000.00', transferred_at: '2025-02-08T10:00:00+08:00', bank_txn_no: 'BK20250208001' },
  insurerCostReport: { insurer_code: 'PICC_DH', admdvs: '5331', fund_year: '2024', revision: 1, operating_cost: '81000.00', items: [{ category: '人员经费', amount: '50000.00' }, { category: '理赔服务', amount: '31000.00' }], reported_at: '2025-04-15T10:00:00+08:00' },
  // Spec §9: a 2207 in the platform's envelope (region header fields in the envelope, as the national setlinfo has none) and its answer.
  platform2207: {
    infno: '2207', msgid: 'H53310200001202503100930000001', mdtrtarea_admvs: '533102', insuplc_admdvs: '533102', recer_sys_code: 'YBXT', infver: 'V1.0',
    opter_type: '1', opter: 'A001', opter_name: '经办员', inf_time: '2025-03-10 09:31:00', fixmedins_code: 'H53310200001', fixmedins_name: '德宏州人民医院',
    input: {
      setlinfo: {
        setl_id: 'S0001', mdtrt_id: 'M0001', psn_no: 'P0001', psn_name: '张三', insutype: '310', med_type: '21', setl_time: '2025-03-10 09:30:00',
        medfee_sumamt: '300000.00', inscp_scp_amt: '280000.00', hifp_pay: '180000.00', hifob_pay: '90000.00', fund_pay_sumamt: '270000.00',
        acct_pay: '0.00', psn_cash_pay: '30000.00', clr_type: '21', clr_way: '1', insurer_code: 'PICC_DH',
      },
      setldetail: [{ fund_pay_type: '310100', inscp_scp_amt: '180000.00', fund_payamt: '180000.00' }, { fund_pay_type: '330100', inscp_scp_amt: '100000.00', fund_payamt: '90000.00' }],
    },
  },
  platformAnswer: {
    infcode: 0, inf_refmsgid: '0f6d9a52-3c1b-4e8a-9b7d-2a4c6e8f0a1b', refmsg_time: '2025-03-10 09:31:02', respond_time: '2025-03-10 09:31:02', err_msg: null,
    output: { setl_id: 'S0001', message_id: '01960f3a-0000-7000-8000-000000000003', duplicate: false },
  },
  accepted: { message_id: '01960f3a-0000-7000-8000-000000000001', status: 'accepted' },
  duplicate: { message_id: '01960f3a-0000-7000-8000-000000000001', status: 'accepted', duplicate: true },
  feedResult: {
    message_id: '01960f3a-0000-7000-8000-000000000002', status: 'accepted', accepted: 1, duplicates: 0,
    rejected: [{ index: 1, errors: [{ path: '/hifob_pay', code: 'pattern', message: 'must be an amount with at most 2 decimals and 15 significant digits' }] }],
  },
  feedDuplicate: { message_id: '01960f3a-0000-7000-8000-000000000002', status: 'accepted', duplicate: true, accepted: 0, duplicates: 2, rejected: [] },
  messageStatus: { message_id: '01960f3a-0000-7000-8000-000000000001', kind: 'insurer_payment', status: 'processed', received_at: '2025-04-15T10:00:02+08:00', processed_at: '2025-04-15T10:00:03+08:00', record_count: 1 },
  settlementView: {
    ...settlement,
    loop: { status: 'closed', owed: '90000.00', paid: '90000.00', rejected: '0.00', recovered: '0.00', outstanding: '0.00', due_at: '2025-04-30T23:59:59+08:00' },
    payments: [{ insurer_code: 'PICC_DH', payment_id: 'PAY-0001', pay_time: '2025-04-15T10:00:00+08:00', paid_amount: '90000.00', rejected_amount: '0.00' }],
    discrepancies: [],
  },
  benefitExplanation: {
    setl_id: 'S0001', checked: true, unchecked_reason: null, region: 'dehong', benefit_year: 2025, expected_amount: '90000.00', actual_amount: '90000.00',
    difference: '0.00', tolerance: '0.01', deviates: false, derivation: null,
    explanation: '德宏州：大额补充基数 100000.00 元 × 90% = 90000.00 元；实际支付 90000.00 元，相符。',
  },
  discrepancy,
  discrepancyPage: { items: [discrepancy], next_cursor: null },
  caseNote: { note: 'insurer confirmed the payment is scheduled for 2025-05-08' },
  caseDisputeInput: { reason_code: 'D01', note: '余款 500.00 元已于 2025-04-18 线下转账，见回单', attachments: [{ filename: '回单-20250418.pdf', content_base64: 'JVBERi0xLjQKJSVFT0YK' }] },
  disputeDecision: { decision: 'rejected', note: '医院未收到款项，回单金额与结算不符' },
  reconciliationRequest: { admdvs: '5331', period: '2025-03', as_of: '2025-05-01T00:00:00+08:00' },
  reconciliationQueued: { run_id: '01960f3a-0000-7000-8000-0000000000aa', status: 'queued', admdvs: '5331', period: '2025-03', as_of: '2025-05-01T00:00:00+08:00', known_at: null },
  reconciliationRun: {
    run_id: '01960f3a-0000-7000-8000-0000000000aa', status: 'completed', admdvs: '5331', period: '2025-03', as_of: '2025-05-01T00:00:00+08:00',
    known_at: '2025-05-01T02:30:00+08:00', report_only: false,
    summary: { settlements: 1, owed: '90000.00', paid: '90000.00', open_discrepancies: 0 },
    institutions: [{ fixmedins_code: 'H53310200001', declared_cnt: 1, declared_hifob: '90000.00', recorded_cnt: 1, recorded_hifob: '90000.00', paid: '90000.00', rejected: '0.00', recovered: '0.00', outstanding: '0.00', balanced: true,
      ageing: { not_due: '0.00', d1_10: '0.00', d11_30: '0.00', d31_60: '0.00', over_60: '0.00' } }],
    insurers: [{ insurer_code: 'PICC_DH', planned: '90000.00', paid: '90000.00', disbursed: '90000.00', ageing: { not_due: '0.00', d1_10: '0.00', d11_30: '0.00', d31_60: '0.00', over_60: '0.00' } }],
  },
  fundStatementRequest: { admdvs: '5331', fund_year: '2024', as_of: '2025-06-01T00:00:00+08:00' },
  fundStatementQueued: { statement_id: '01960f3a-0000-7000-8000-0000000000bb', status: 'queued', admdvs: '5331', fund_year: '2024', as_of: '2025-06-01T00:00:00+08:00', known_at: null },
  fundStatement: {
    statement_id: '01960f3a-0000-7000-8000-0000000000bb', status: 'completed', admdvs: '5331', fund_year: '2024', as_of: '2025-06-01T00:00:00+08:00', known_at: '2025-06-01T02:30:00+08:00',
    region: { premiums_collected: '1000000.00', late_fees: '0.00', insured_count: 5000, received_special_account: '1000000.00', disbursed_to_insurers: '1000000.00', compliant_payouts: '900000.00', non_compliant_payouts: '0.00', allowed_admin_costs: '0.00', opening_balance: '0.00', closing_balance: '100000.00' },
    insurers: [{ insurer_code: 'PICC_DH', premium_income: '1000000.00', compliant_payouts: '900000.00', non_compliant_payouts: '0.00', recovered: '0.00', operating_cost: '90000.00', admin_cost: '0.00', operating_cost_ratio: '9.00', admin_cost_ratio: '0.00', allowed_costs: '90000.00', costs_beyond_limits: '0.00', profit: '10000.00', profit_rate: '1.00', excess_profit: '0.00', deficit: { total: '0.00', policy: '0.00', non_policy: '0.00' } }],
    accounts: [{ account: 'special_account', admdvs: '5331', received: '1000000.00', passed_on: '0.00', balance: '1000000.00' }],
    summary: { settlements: 1, findings: {} },
  },
  subscriberInput: { url: 'https://oapi.dingtalk.com/robot/send?access_token=example', format: 'dingtalk', filter: { severities: ['high', 'critical'], insurer_code: 'PICC_DH' }, description: '德宏州经办机构值班群' },
  subscriber: { id: 'sub_5f0c2f8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f', url: 'https://oapi.dingtalk.com/robot/send?access_token=example', format: 'dingtalk', filter: { severities: ['high', 'critical'] }, enabled: true },
  subscriberCreated: { id: 'sub_5f0c2f8e-1a2b-4c3d-8e9f-0a1b2c3d4e5f', url: 'https://insurer.example.com/hooks/hifob', format: 'json', filter: {}, enabled: true, secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
  notificationStop: { reason: 'receiver maintenance window' },
  keys: {
    keys: [{
      kid: 'bc79272dbee67fd4', alg: 'SM2', use: 'sig',
      pem: '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAE1bUvdLFDT9VXRYgEJ9RSYS/0+bBs\nBoo1jVn62C2rM+xr347zgS/4QJcom5FAI75SAK09eX6VxAyks92XiT1q+g==\n-----END PUBLIC KEY-----\n',
      public_key_hex: '04d5b52f74b1434fd55745880427d452612ff4f9b06c068a358d59fad82dab33ec6bdf8ef3812ff84097289b914023be5200ad3d797e95c40ca4b3dd97893d6afa',
    }],
  },
  consoleLogin: { token: 'tok-ops-000001' },
  healthz: { status: 'ok' },
  readyz: { status: 'ready', database: 'ok', redis: 'ok' },
  notReady: { status: 'not_ready', database: 'ok', redis: 'unreachable' },
};

/** One problem example per status the API answers with (spec §1). */
export const PROBLEM_EXAMPLES: Record<number, Record<string, unknown>> = {
  400: { type: '/docs/problems#malformed', title: 'Malformed request', status: 400, detail: 'malformed JSON: Unexpected end of JSON input', errors: [{ path: '', code: 'malformed_json', message: 'Unexpected end of JSON input' }] },
  401: { type: '/docs/problems#signature-invalid', title: 'Authentication failed', status: 401, detail: 'the signature does not match the body' },
  403: { type: '/docs/problems#out-of-scope', title: 'Outside your scope', status: 403, detail: 'insurer_code CPIC_DH is outside client picc-dh\'s scope', errors: [{ path: '/insurer_code', code: 'OUT_OF_SCOPE', message: 'outside the client\'s scope' }] },
  404: { type: '/docs/problems#not-found', title: 'Not found', status: 404, detail: 'no such message' },
  409: { type: '/docs/problems#idempotency-conflict', title: 'Idempotency conflict', status: 409, detail: 'this business key was accepted before with a different body', message_id: '01960f3a-0000-7000-8000-000000000001' },
  413: { type: '/docs/problems#too-large', title: 'Request too large', status: 413, detail: 'the body exceeds 8388608 bytes' },
  415: { type: '/docs/problems#unsupported-media-type', title: 'Unsupported media type', status: 415, detail: 'Content-Type must be application/json' },
  422: { type: '/docs/problems#validation', title: 'Validation failed', status: 422, detail: 'the body does not satisfy the exchange schema or its business rules', errors: [{ path: '/pay_amount', code: 'PAY_AMOUNT_MISMATCH', message: 'pay_amount is 90000.00 but the lines\' paid_amount add up to 80000.00' }] },
  429: { type: '/docs/problems#rate-limited', title: 'Too many requests', status: 429, detail: 'retry after 1 s' },
};
