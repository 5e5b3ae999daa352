/**
 * `gateway fund-statement --admdvs X --year Y`: computes a region's fund-year statement (spec §8) in
 * this process (not via the queue) on the configured database, syncs its cases like any statement,
 * prints it as GET /v1/fund-statements/{id} shows it, and with `--out` writes its export.
 */
import fs from 'node:fs';
import type { Config } from '../config/config';
import { buildGateway } from '../composition-root';
import { createLogger } from '../logging/logger';
import { executeStatement } from '../fund/statement-service';
import { createStatement, getStatement } from '../fund/statement-store';
import { statementView } from '../fund/statement-view';
import { statementCsv, statementXlsx, type StatementSection } from '../fund/statement-export';
import { parseWireTime } from '../time';
import type { Io } from './output';

export interface FundStatementOptions {
  admdvs: string;
  year: string;
  asOf?: string;
  openingBalance?: string;
  out?: string;
  format?: 'xlsx' | 'csv';
  section?: StatementSection;
  public?: boolean;
}

export async function fundStatementCommand(cfg: Config, o: FundStatementOptions, io: Io): Promise<number> {
  if (!/^\d{2,6}$/.test(o.admdvs)) {
    io.err('--admdvs must be a 2–6 digit admdvs prefix\n');
    return 2;
  }
  if (!/^\d{4}$/.test(o.year)) {
    io.err('--year must be yyyy\n');
    return 2;
  }
  const asOf = o.asOf ? parseWireTime(o.asOf) : undefined;
  if (o.asOf && !asOf) {
    io.err('--as-of must be ISO 8601 with an offset or yyyy-MM-dd HH:mm:ss\n');
    return 2;
  }
  if (o.openingBalance !== undefined && !/^-?\d{1,14}(\.\d{1,2})?$/.test(o.openingBalance)) {
    io.err('--opening-balance must be an amount in yuan with at most 2 decimals\n');
    return 2;
  }
  // Log lines go to stderr at warn and above: stdout is the command's result.
  const gw = await buildGateway(cfg, {
    log: createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel, process.stderr),
  });
  try {
    const now = new Date(gw.now());
    const created = await createStatement(gw.db, {
      admdvs: o.admdvs,
      fundYear: Number(o.year),
      asOf: asOf ?? now,
      trigger: 'cli',
      requestedBy: 'cli',
      at: now,
      ...(o.openingBalance !== undefined ? { openingBalance: o.openingBalance } : {}),
    });
    await executeStatement(gw, created.statement_id);
    const st = (await getStatement(gw.db, created.statement_id))!;
    io.out(`${JSON.stringify(statementView(st), null, 2)}\n`);
    if (o.out) {
      const data =
        (o.format ?? 'xlsx') === 'xlsx'
          ? await statementXlsx(st, o.public === true)
          : statementCsv(st, o.section ?? 'region', o.public === true);
      fs.writeFileSync(o.out, data);
      io.err(`written ${o.out}\n`);
    }
    return st.status === 'completed' ? 0 : 1;
  } finally {
    await gw.close();
  }
}
