/**
 * Valid example messages of every kind (Dehong, 2025-03), for tests to copy and break. Amounts follow
 * the Dehong rule (001 art. 10: 90% of the covered cost above the basic fund's maximum).
 */
import type {
  Disbursement,
  InsurerPayment,
  Recovery,
  Settlement,
  SettlementBatch,
  SpendingPlan,
} from '../../src/schemas/types';

export function settlement(over: Partial<Settlement> = {}): Settlement {
  return {
    setl_id: 'S0001',
    mdtrt_id: 'M0001',
    psn_no: 'P0001',
    psn_name: '张三',
    certno: '11010519491231002X',
    insutype: '310',
    insuplc_admdvs: '533102',
    mdtrtarea_admvs: '533102',
    fixmedins_code: 'H53310200001',
    med_type: '21',
    setl_time: '2025-03-10 09:30:00',
    medfee_sumamt: '300000.00',
    inscp_scp_amt: '280000.00',
    hifp_pay: '180000.00',
    hifob_pay: '90000.00',
    fund_pay_sumamt: '270000.00',
    acct_pay: '0.00',
    psn_cash_pay: '30000.00',
    setldetail: [
      { fund_pay_type: '310100', inscp_scp_amt: '180000.00', fund_payamt: '180000.00' },
      { fund_pay_type: '330100', inscp_scp_amt: '100000.00', fund_payamt: '90000.00' },
    ],
    insurer_code: 'PICC_DH',
    setl_mode: 'direct',
    referral: false,
    status: 'valid',
    ...over,
  };
}

export function batch(over: Partial<SettlementBatch> = {}): SettlementBatch {
  return {
    batch_id: 'B-H1-2025-03',
    fixmedins_code: 'H53310200001',
    insurer_code: 'PICC_DH',
    period: '2025-03',
    setl_cnt: 1,
    medfee_sumamt: '300000.00',
    hifob_pay_sumamt: '90000.00',
    items: [
      {
        setl_id: 'S0001',
        mdtrt_id: 'M0001',
        psn_no: 'P0001',
        setl_time: '2025-03-10 09:30:00',
        medfee_sumamt: '300000.00',
        hifob_pay: '90000.00',
      },
    ],
    ...over,
  };
}

export function payment(over: Partial<InsurerPayment> = {}): InsurerPayment {
  return {
    insurer_code: 'PICC_DH',
    payment_id: 'PAY-0001',
    payee_type: 'institution',
    payee_id: 'H53310200001',
    pay_time: '2025-04-15T10:00:00+08:00',
    bank_txn_no: 'BK20250415001',
    pay_amount: '90000.00',
    lines: [{ setl_id: 'S0001', paid_amount: '90000.00' }],
    ...over,
  };
}

export function recovery(over: Partial<Recovery> = {}): Recovery {
  return {
    insurer_code: 'PICC_DH',
    recovery_id: 'REC-0001',
    setl_id: 'S0001',
    amount: '1000.00',
    reason_code: 'R01',
    recovered_at: '2025-05-20T10:00:00+08:00',
    ...over,
  };
}

export function plan(over: Partial<SpendingPlan> = {}): SpendingPlan {
  return {
    insurer_code: 'PICC_DH',
    period: '2025-03',
    revision: 1,
    planned_amount: '90000.00',
    items: [{ fixmedins_code: 'H53310200001', amount: '90000.00' }],
    ...over,
  };
}

export function disbursement(over: Partial<Disbursement> = {}): Disbursement {
  return {
    disbursement_id: 'D-2025-03-PICC',
    insurer_code: 'PICC_DH',
    period: '2025-03',
    amount: '90000.00',
    disbursed_at: '2025-04-20T09:00:00+08:00',
    ...over,
  };
}
