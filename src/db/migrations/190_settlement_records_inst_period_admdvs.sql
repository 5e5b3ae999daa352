-- The institution-period index carries the pooling region too (issue 15): DECLARATION_MISSING takes
-- the smallest insuplc_admdvs of an institution-period's settlements (src/ledger/batch-store.ts
-- loadDeclarationFacts), which on (fixmedins_code, insurer_code, period) alone read every settlement
-- of the institution-period, for every feed part naming it (20,000 rows per institution at 1M,
-- 20 parts): with the region as the last column it is the first entry of the index range. The old
-- index is a prefix of the new one, so it goes.
CREATE INDEX settlement_records_inst_period_admdvs ON settlement_records (fixmedins_code, insurer_code, period, insuplc_admdvs);
DROP INDEX settlement_records_inst_period;
