-- Planner statistics only for the columns a query filters, joins or groups settlement_records by
-- (issue 15). A month's feed grows the table faster than autovacuum analyses it, so matching
-- refreshes its statistics itself (src/ledger/settlement-store.ts analyzeIfStale), and ANALYZE spent
-- most of its time on columns no plan looks at: the wide setldetail JSON, names, amounts. Their
-- statistics target is 0 (none collected; ANALYZE of 20,000 rows 600 -> 265 ms). Columns still
-- analysed: setl_id, status, message_id, received_at, mdtrt_id, psn_no, insuplc_admdvs,
-- fixmedins_code, setl_time, hifob_pay, insurer_code, setl_mode, period.
ALTER TABLE settlement_records
  ALTER COLUMN content_sha256 SET STATISTICS 0,
  ALTER COLUMN record_index SET STATISTICS 0,
  ALTER COLUMN psn_name SET STATISTICS 0,
  ALTER COLUMN certno SET STATISTICS 0,
  ALTER COLUMN insutype SET STATISTICS 0,
  ALTER COLUMN mdtrtarea_admvs SET STATISTICS 0,
  ALTER COLUMN med_type SET STATISTICS 0,
  ALTER COLUMN medfee_sumamt SET STATISTICS 0,
  ALTER COLUMN inscp_scp_amt SET STATISTICS 0,
  ALTER COLUMN hifp_pay SET STATISTICS 0,
  ALTER COLUMN hifmi_pay SET STATISTICS 0,
  ALTER COLUMN cvlserv_pay SET STATISTICS 0,
  ALTER COLUMN maf_pay SET STATISTICS 0,
  ALTER COLUMN oth_pay SET STATISTICS 0,
  ALTER COLUMN fund_pay_sumamt SET STATISTICS 0,
  ALTER COLUMN acct_pay SET STATISTICS 0,
  ALTER COLUMN psn_cash_pay SET STATISTICS 0,
  ALTER COLUMN setldetail SET STATISTICS 0,
  ALTER COLUMN referral SET STATISTICS 0;
