/**
 * The operator CLI: `npx gateway <command>` (bin/gateway.js) or `npm run gateway -- <command>`.
 * `main` takes its arguments, output and environment as parameters so tests run it in-process.
 * Exit codes: 0 done, 1 done with rejected rows / a broken audit trail / a failed run, 2 could not run.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../config/config';
import { runImport, ImportAborted } from './import-command';
import { addClient, addSm2Key } from './clients-command';
import { runPlatform3202, PlatformRefused } from './platform-3202-command';
import { stdio, type Io } from './output';

// The commands that build a gateway load it only when run: `import` and `clients` stay light.
const ops = () => import('./ops-commands');

const ROLES = ['insurer', 'institution', 'agency', 'ops', 'tax', 'finance'];

function oneOf(values: string[]) {
  return (v: string) => {
    if (!values.includes(v)) throw new InvalidArgumentError(`must be one of ${values.join(', ')}`);
    return v;
  };
}

export async function main(argv: string[], io: Io = stdio, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let code = 0;
  const program = new Command('gateway')
    .description('HIFOB exchange gateway — operator commands')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });

  program
    .command('import')
    .description('send an agency settlement file (NDJSON, CSV or XLSX; GBK or UTF-8) to the gateway')
    .argument('<file>', "the file; CSV/XLSX columns are the platform's field names, setldetail a JSON column")
    .addOption(
      new Option('--format <format>', 'file format (default: from the extension)').choices(['ndjson', 'csv', 'xlsx']),
    )
    .addOption(new Option('--encoding <encoding>', 'text encoding (default: detected)').choices(['utf-8', 'gbk']))
    .addOption(new Option('--url <url>', 'gateway base URL').env('GATEWAY_URL').default('http://127.0.0.1:8080'))
    .addOption(new Option('--client-id <id>', 'the agency client id').env('GATEWAY_CLIENT_ID').makeOptionMandatory())
    .addOption(
      new Option('--secret <whsec>', "the client's signing secret (prefer the environment variable)")
        .env('GATEWAY_CLIENT_SECRET')
        .makeOptionMandatory(),
    )
    .option('--errors <file>', 'where per-line errors go (NDJSON; default <file>.errors.ndjson when there are any)')
    .option(
      '--chunk <n>',
      'records a request',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('1–100000');
        return n;
      },
      5000,
    )
    .action(
      async (
        file: string,
        o: {
          format?: string;
          encoding?: 'utf-8' | 'gbk';
          url: string;
          clientId: string;
          secret: string;
          errors?: string;
          chunk: number;
        },
      ) => {
        const s = await runImport(
          {
            file,
            format: o.format,
            encoding: o.encoding,
            url: o.url,
            clientId: o.clientId,
            secret: o.secret,
            errorsFile: o.errors,
            chunkSize: o.chunk,
            progress: io.interactive,
          },
          io,
        );
        code = s.rejected > 0 ? 1 : 0;
      },
    );

  const clients = program.command('clients').description('manage the clients file (docs/integration-guide.md §2)');
  clients
    .command('add')
    .description('add a client (or a new secret and token for one) and print its secret and token once')
    .requiredOption('--id <id>', 'client_id')
    .requiredOption('--role <role>', ROLES.join(' | '), oneOf(ROLES))
    .option('--scope <list>', 'comma-separated insurer codes, fixmedins codes or admdvs prefixes', '')
    .option('--file <file>', 'clients file (default: GATEWAY_CLIENTS_FILE or clients.json)')
    .action((o: { id: string; role: string; scope: string; file?: string }) => {
      const file = o.file ?? env.GATEWAY_CLIENTS_FILE ?? 'clients.json';
      addClient(
        {
          id: o.id,
          role: o.role,
          scope: o.scope
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          file,
        },
        io,
      );
    });
  clients
    .command('add-sm2-key')
    .description(
      'add an SM2 public key to a client (v1sm2 signatures, spec §9); with --role and --scope, create the client with it',
    )
    .requiredOption('--id <id>', 'client_id')
    .requiredOption('--key <key>', 'a PEM file (SPKI or certificate), or the hex public key sm-crypto prints (04…)')
    .addOption(new Option('--role <role>', `for a new client: ${ROLES.join(' | ')}`).argParser(oneOf(ROLES)))
    .option('--scope <list>', 'for a new client: comma-separated insurer codes, fixmedins codes or admdvs prefixes', '')
    .option('--file <file>', 'clients file (default: GATEWAY_CLIENTS_FILE or clients.json)')
    .action((o: { id: string; key: string; role?: string; scope: string; file?: string }) => {
      const file = o.file ?? env.GATEWAY_CLIENTS_FILE ?? 'clients.json';
      addSm2Key(
        {
          id: o.id,
          key: o.key,
          role: o.role,
          scope: o.scope
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean),
          file,
        },
        io,
      );
    });

  program
    .command('platform-3202')
    .description(
      "reconcile an institution's detail file (table 200, TSV or .zip) the platform's way: 9101 upload, 3202, 9102 download of the result (spec §9)",
    )
    .argument(
      '<file>',
      'tab-separated UTF-8 lines setl_id, mdtrt_id, psn_no, medfee_sumamt, fund_pay_sumamt, acct_pay, refd_setl_flag (or a .zip holding that file)',
    )
    .requiredOption('--fixmedins <code>', 'the institution (fixmedins_code)')
    .requiredOption('--from <date>', 'stmt_begndate, yyyy-MM-dd', (v: string) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new InvalidArgumentError('yyyy-MM-dd');
      return v;
    })
    .requiredOption('--to <date>', 'stmt_enddate, yyyy-MM-dd', (v: string) => {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new InvalidArgumentError('yyyy-MM-dd');
      return v;
    })
    .option(
      '--setl-optins <admdvs>',
      'the settling agency (default: the prefecture of the fixmedins code, H533102… → 533100)',
    )
    .option('--refunds', 'include refunds (refd_setl_flag 1)')
    .option('--out <file>', 'where the result file goes (default: beside the file, under the name the gateway gives)')
    .addOption(new Option('--url <url>', 'gateway base URL').env('GATEWAY_URL').default('http://127.0.0.1:8080'))
    .addOption(
      new Option('--client-id <id>', 'the institution client id').env('GATEWAY_CLIENT_ID').makeOptionMandatory(),
    )
    .addOption(
      new Option('--secret <whsec>', "the client's signing secret (prefer the environment variable)")
        .env('GATEWAY_CLIENT_SECRET')
        .makeOptionMandatory(),
    )
    .action(
      async (
        file: string,
        o: {
          fixmedins: string;
          from: string;
          to: string;
          setlOptins?: string;
          refunds?: boolean;
          out?: string;
          url: string;
          clientId: string;
          secret: string;
        },
      ) => {
        const s = await runPlatform3202({ file, ...o, progress: io.interactive }, io);
        code = s.differences > 0 ? 1 : 0;
      },
    );

  program
    .command('verify-audit')
    .description('check the hash chain of the audit trail in the configured database')
    .action(async () => {
      code = await (await ops()).verifyAuditCommand(loadConfig(env), io);
    });

  program
    .command('purge')
    .description(
      'drop raw message bodies past their retention (by monthly partition), old webhook ids, relayed outbox rows and platform files past their dld_endtime; the ledger is kept',
    )
    .option('--dry-run', 'report what would be removed, change nothing')
    .option('--as-of <iso>', 'judge retention as of this time (default now)')
    .action(async (o: { dryRun?: boolean; asOf?: string }) => {
      code = await (await import('../lifecycle/purge-command')).purgeCommand(loadConfig(env), o, io);
    });

  program
    .command('reconcile')
    .description('run a reconciliation for a region and period now, and print the report')
    .requiredOption('--admdvs <prefix>', 'admdvs prefix, 2–6 digits')
    .requiredOption('--period <yyyy-MM>', 'the period')
    .option('--as-of <iso>', 'judge deadlines as of this time (default now)')
    .action(async (o: { admdvs: string; period: string; asOf?: string }) => {
      code = await (await ops()).reconcileCommand(loadConfig(env), o, io);
    });

  program
    .command('fund-statement')
    .description("compute a region's fund-year statement (spec §8) now, print it, and optionally write its export")
    .requiredOption('--admdvs <prefix>', 'admdvs prefix, 2–6 digits')
    .requiredOption('--year <yyyy>', 'the fund year')
    .option('--as-of <iso>', 'as of this time (default now)')
    .option(
      '--opening-balance <yuan>',
      "the roll-over balance at the start of the year (default: the previous year's closing balance)",
    )
    .option('--out <file>', 'write the export to this file')
    .addOption(new Option('--format <format>', 'export format').choices(['xlsx', 'csv']).default('xlsx'))
    .addOption(
      new Option('--section <part>', 'CSV: which part').choices(['region', 'insurers', 'accounts']).default('region'),
    )
    .option('--public', 'the public disclosure: region totals only (001 art. 24)')
    .action(
      async (o: {
        admdvs: string;
        year: string;
        asOf?: string;
        openingBalance?: string;
        out?: string;
        format: 'xlsx' | 'csv';
        section: 'region' | 'insurers' | 'accounts';
        public?: boolean;
      }) => {
        code = await (await import('./fund-statement-command')).fundStatementCommand(loadConfig(env), o, io);
      },
    );

  program
    .command('demo')
    .description(
      'start the gateway, send it a generated month with a planted case of every discrepancy code, match and reconcile it, and keep serving',
    )
    .option('--exit', 'stop after printing the results (exit code 1 when a planted code was not found)')
    .option('--period <yyyy-MM>', 'the month to generate (default: three months ago)')
    .action(async (o: { exit?: boolean; period?: string }) => {
      const { runDemo } = await import('../demo/demo-command');
      code = (await runDemo(loadConfig(env), io, { exit: o.exit, period: o.period })).code;
    });

  program
    .command('explain')
    .description("explain how the region's benefit rules give a settlement's large-expense amount")
    .argument('<setl_id>')
    .addOption(new Option('--lang <lang>').choices(['zh-CN', 'en']).default('zh-CN'))
    .action(async (setlId: string, o: { lang: 'zh-CN' | 'en' }) => {
      code = await (await ops()).explainCommand(loadConfig(env), setlId, o.lang, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof PlatformRefused) {
      io.err(`platform-3202: ${e.message}\n`);
      return 1;
    }
    io.err(`${e instanceof ImportAborted ? 'import stopped: ' : 'error: '}${(e as Error).message}\n`);
    return 2;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (c) => {
      process.exitCode = c;
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exitCode = 2;
    },
  );
}
