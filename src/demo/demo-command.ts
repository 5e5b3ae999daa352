/**
 * `gateway demo`: starts the gateway (API and workers, embedded database unless DATABASE_URL is
 * set), sends it a generated month through its own signed HTTP API as the agency, institutions and
 * insurers would, lets the workers match it, runs the reconciliations, prints what was found, and
 * keeps serving so /docs and /console can be explored with the demo tokens. With the month goes a fund
 * year (demo-fund-year.ts): its premium chain is judged by the workers, and Dehong's fund-year
 * statement is asked for through POST /v1/fund-statements, so every fund code of spec §8 is open too.
 *
 * The month is sent with the gateway's clock three days back, so the 2-day grace period of
 * references to unknown records (spec §4) has passed when the workers look at it.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Config } from '../config/config';
import { buildGateway, type Gateway } from '../composition-root';
import { ClientRegistry } from '../http/clients';
import { sign } from '../http/signature';
import { addMonths, periodOf } from '../time';
import type { Io } from '../cli/output';
import { DEMO_CLIENTS, DEMO_OPS_TOKEN } from './demo-clients';
import { generateDemoMonth } from './demo-month';
import { generateDemoFundYear } from './demo-fund-year';
import { unresolvedCountsByCode } from '../discrepancies/discrepancy-queries';
import { countUnfinished } from '../ingest/message-store';
import { countPending } from '../queue/outbox';

const THREE_DAYS = 3 * 86_400_000;

export interface DemoOptions {
  exit?: boolean;
  size?: number;
  period?: string;
}

export async function runDemo(
  cfg: Config,
  io: Io,
  o: DemoOptions = {},
): Promise<{ code: number; gw?: Gateway; server?: Server; counts: Record<string, number> }> {
  let offset = -THREE_DAYS;
  const now = () => Date.now() + offset;
  const fileClients = ClientRegistry.fromFile(cfg.clientsFile).all();
  const clients = new ClientRegistry([
    ...fileClients,
    ...Object.values(DEMO_CLIENTS).filter((d) => !fileClients.some((c) => c.client_id === d.client_id)),
  ]);
  const gw = await buildGateway(cfg, { clients, now });
  gw.relay.start();
  const server: Server = await new Promise((resolve) => {
    const s = gw.app.listen(cfg.port, () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const period = o.period ?? addMonths(periodOf(new Date()), -3);
  const month = generateDemoMonth(period, o.size);
  const fund = generateDemoFundYear(period);
  const planted = [...month.planted, ...fund.planted];
  io.err(
    `demo: sending ${month.messages.length} messages for ${period} and ${fund.messages.length} of fund year ${fund.fundYear} to ${url}\n`,
  );
  let n = 0;
  for (const m of [...month.messages, ...fund.messages]) {
    const c = DEMO_CLIENTS[m.as];
    const body = JSON.stringify(m.body);
    const id = `msg_demo_${period}_${++n}`;
    const ts = Math.floor(now() / 1000);
    const r = await fetch(`${url}${m.path}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-client-id': c.client_id,
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': sign(c.secret, id, ts, body),
      },
    });
    const text = await r.text();
    if (r.status >= 400 || /"rejected":\[\{/.test(text))
      io.err(`demo: ${m.path} answered ${r.status}: ${text.slice(0, 400)}\n`);
  }
  offset = 0;
  gw.startWorkers();
  await waitIdle(gw);
  for (const admdvs of ['5331', '1509']) {
    const r = await fetch(`${url}/v1/reconciliations`, {
      method: 'POST',
      body: JSON.stringify({ admdvs, period }),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_OPS_TOKEN}` },
    });
    const { run_id } = (await r.json()) as { run_id: string };
    for (let i = 0; i < 600; i++) {
      const s = (await (
        await fetch(`${url}/v1/reconciliations/${run_id}`, { headers: { authorization: `Bearer ${DEMO_OPS_TOKEN}` } })
      ).json()) as { status: string };
      if (s.status === 'completed' || s.status === 'failed') {
        io.err(`demo: reconciliation ${admdvs} ${period}: ${s.status} (run ${run_id})\n`);
        break;
      }
      await new Promise((res) => setTimeout(res, 200));
    }
  }
  await waitIdle(gw);
  // The fund-year statement of Dehong (spec §8): its four codes open with it.
  const statement = await fundStatement(url, fund.admdvs, fund.fundYear);
  io.err(
    `demo: fund statement ${fund.admdvs} ${fund.fundYear}: ${statement.status} (statement ${statement.statement_id})\n`,
  );
  await waitIdle(gw);
  const rows = await unresolvedCountsByCode(gw.db);
  const counts = Object.fromEntries(rows.map((r) => [r.code, r.n]));
  const missing = planted.filter((c) => !counts[c]);
  io.out(
    `\nOpen discrepancies after the demo month ${period}:\n${rows.map((r) => `  ${r.code.padEnd(26)} ${r.n}`).join('\n')}\n`,
  );
  io.out(
    missing.length
      ? `\nNot found (planted): ${missing.join(', ')}\n`
      : `\nEvery planted code was found (${planted.length} codes).\n`,
  );
  if (statement.region)
    io.out(
      `\nFund year ${fund.fundYear} of ${fund.admdvs}: premiums collected ${statement.region.premiums_collected}, compliant payouts ${statement.region.compliant_payouts}, closing balance ${statement.region.closing_balance} (GET /v1/fund-statements/${statement.statement_id}; console: Fund year)\n`,
    );
  io.out(`\nOpen ${url}/console (token: ${DEMO_OPS_TOKEN}) and ${url}/docs.\n`);
  if (o.exit) {
    await new Promise((r) => server.close(r));
    await gw.close();
    return { code: missing.length ? 1 : 0, counts };
  }
  io.out('The gateway keeps running; stop it with Ctrl-C.\n');
  const stop = async () => {
    server.close();
    await gw.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  return { code: 0, gw, server, counts };
}

/** Asks for a fund-year statement as ops and waits for it (at most a minute). */
async function fundStatement(
  url: string,
  admdvs: string,
  fundYear: number,
): Promise<{ statement_id: string; status: string; region?: Record<string, string> }> {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${DEMO_OPS_TOKEN}` };
  const r = await fetch(`${url}/v1/fund-statements`, {
    method: 'POST',
    body: JSON.stringify({ admdvs, fund_year: String(fundYear) }),
    headers,
  });
  const { statement_id } = (await r.json()) as { statement_id: string };
  let s = { statement_id, status: 'queued' } as {
    statement_id: string;
    status: string;
    region?: Record<string, string>;
  };
  for (let i = 0; i < 300 && s.status !== 'completed' && s.status !== 'failed'; i++) {
    await new Promise((res) => setTimeout(res, 200));
    s = (await (await fetch(`${url}/v1/fund-statements/${statement_id}`, { headers })).json()) as typeof s;
  }
  return s;
}

/** Until every message is processed and the benefit and re-check queues have nothing waiting. */
async function waitIdle(gw: Gateway): Promise<void> {
  let pending = 0;
  for (let i = 0; i < 3000; i++) {
    pending = (await countUnfinished(gw.db)) + (await countPending(gw.db));
    const counts = await Promise.all(
      ['ingest', 'benefits', 'reconciliation'].map((q) =>
        gw.queues.get(q).getJobCounts('waiting', 'active', 'prioritized'),
      ),
    );
    const busy = counts.reduce((a, c) => a + (c.waiting ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0), 0);
    if (pending === 0 && busy === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Say so rather than go on as if the month were matched (a stuck message once went unnoticed here).
  throw new Error(`demo: ${pending} messages or outbox rows still unfinished after 5 minutes; see the log`);
}
