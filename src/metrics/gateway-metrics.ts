/**
 * Prometheus metrics of one gateway. Each Gateway has its own Registry (not prom-client's global
 * one), so several gateways in one process — tests, the CLI — never collide. Counters are fed by
 * the hooks of createApp, the ingest routes and the ingest worker; queue depths and open
 * discrepancies are read when Prometheus scrapes, so they are never stale.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/db';
import type { Queues } from '../queue/queues';
import { openCaseCounts } from '../discrepancies/discrepancy-queries';
import { latestInsurerAgeing } from '../reconciliation/run-store';
import { addMonths, periodOf } from '../time';

export interface MetricsSources {
  db: Db;
  queues: Queues;
  /** Queues reported even before this process has used them. */
  queueNames: string[];
  now: () => number;
}

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  readonly messages: Counter<'kind' | 'outcome'>;
  readonly jobDuration: Histogram<'kind' | 'result'>;
  /** For the notifications engineer: `gw.metrics.notificationDeliveries.inc({ result: 'delivered' })`. */
  readonly notificationDeliveries: Counter<'result'>;

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpRequests = new Counter({
      name: 'gateway_http_requests_total',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'gateway_http_request_duration_seconds',
      help: 'HTTP request latency by route template',
      labelNames: ['route', 'method', 'status'],
      buckets: SECONDS,
      registers,
    });
    this.messages = new Counter({
      name: 'gateway_messages_total',
      help: 'Inbound messages by kind and outcome (accepted, duplicate, rejected)',
      labelNames: ['kind', 'outcome'],
      registers,
    });
    this.jobDuration = new Histogram({
      name: 'gateway_job_duration_seconds',
      help: 'Ingest job durations by message kind and result',
      labelNames: ['kind', 'result'],
      buckets: SECONDS,
      registers,
    });
    this.notificationDeliveries = new Counter({
      name: 'notification_deliveries_total',
      help: 'Outbound notification delivery attempts by result',
      labelNames: ['result'],
      registers,
    });

    new Gauge({
      name: 'gateway_queue_jobs',
      help: 'Jobs per queue and state, read at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const q of queuesOf(src)) {
          // Redis down: report nothing for the queue rather than fail the whole scrape.
          const counts = await q
            .getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed')
            .catch(() => undefined);
          for (const [state, n] of Object.entries(counts ?? {})) this.set({ queue: q.name, state }, n);
        }
      },
    });
    new Gauge({
      name: 'gateway_queue_oldest_waiting_age_seconds',
      help: 'Age of the oldest waiting job per queue (0 when none waits)',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        for (const q of queuesOf(src)) {
          const oldest = await q.getWaiting(0, 0).catch(() => undefined);
          if (!oldest) continue;
          this.set({ queue: q.name }, oldest[0] ? Math.max(0, (src.now() - oldest[0].timestamp) / 1000) : 0);
        }
      },
    });
    new Gauge({
      name: 'gateway_discrepancies_open',
      help: 'Open discrepancies by code and severity, read at scrape time',
      labelNames: ['code', 'severity'],
      registers,
      async collect() {
        const rows = await openCaseCounts(src.db).catch(() => [] as { code: string; severity: string; n: string }[]);
        this.reset();
        for (const r of rows) this.set({ code: r.code, severity: r.severity }, Number(r.n));
      },
    });
    // Arrears by age (应支未支, spec §10) per insurer and bucket, from the latest completed run of each
    // region-period of the last twelve months (the nightly runs keep them current). A gauge is a
    // double: the amount text is converted for display once, not computed with.
    new Gauge({
      name: 'gateway_arrears_yuan',
      help: 'Outstanding owed by an insurer by working days past due (buckets not_due, d1_10, d11_30, d31_60, over_60), from the latest completed run of each region-period',
      labelNames: ['admdvs', 'period', 'insurer_code', 'bucket'],
      registers,
      async collect() {
        const rows = await latestInsurerAgeing(src.db, addMonths(periodOf(new Date(src.now())), -12)).catch(() => []);
        this.reset();
        for (const r of rows) {
          for (const [bucket, amount] of Object.entries(r.ageing))
            this.set({ admdvs: r.admdvs, period: r.period, insurer_code: r.insurer_code, bucket }, Number(amount));
        }
      },
    });
  }

  /** createApp's onRequest hook. */
  onRequest = (route: string, method: string, status: number, seconds: number): void => {
    const labels = { route, method, status: String(status) };
    this.httpRequests.inc(labels);
    this.httpDuration.observe(labels, seconds);
  };

  /** The ingest routes' onOutcome hook. */
  onOutcome = (kind: string, outcome: 'accepted' | 'duplicate' | 'rejected'): void => {
    this.messages.inc({ kind, outcome });
  };

  /** The ingest worker's onJobDone hook. */
  onJobDone = (kind: string, ms: number, ok: boolean): void => {
    this.jobDuration.observe({ kind: kind || 'unknown', result: ok ? 'ok' : 'failed' }, ms / 1000);
  };
}

function queuesOf(src: MetricsSources) {
  for (const n of src.queueNames) src.queues.get(n);
  return src.queues.all();
}
