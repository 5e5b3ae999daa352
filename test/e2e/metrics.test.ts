import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { payment } from '../support/fixtures';
import { syncGroup } from '../../src/discrepancies/case-store';

let t: TestGateway;
let text: string;

/** The value of one series, or undefined when it is not exposed. */
function value(series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

beforeAll(async () => {
  t = await startTestGateway('metrics');
});
afterAll(() => t.close());

describe('GET /metrics after a posted message', () => {
  beforeAll(async () => {
    expect((await t.post('/v1/insurer-payments', payment(), 'insurerA')).status).toBe(202);
    expect((await t.post('/v1/insurer-payments', payment(), 'insurerA')).status).toBe(200);
    expect(
      (await t.post('/v1/insurer-payments', payment({ payment_id: 'PAY-BAD', pay_amount: '1.00' }), 'insurerA')).status,
    ).toBe(422);
    await t.drain();
    await t.gw.db.tx((q) =>
      syncGroup(
        q,
        'metrics-test',
        [
          {
            code: 'PAYMENT_OVERDUE',
            severity: 'high',
            subject_key: 'settlement:SX',
            admdvs: '533102',
            insurer_code: 'PICC_DH',
            period: '2025-03',
            setl_id: 'SX',
            detail: 'test',
            evidence: {},
          },
        ],
        new Date(),
      ),
    );
    const res = await t.get('/metrics', null);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    text = String(res.data);
  });

  it('counts HTTP requests by route template and status, with a latency histogram', () => {
    expect(value('gateway_http_requests_total{route="/v1/insurer-payments",method="POST",status="202"}')).toBe(1);
    expect(value('gateway_http_requests_total{route="/v1/insurer-payments",method="POST",status="422"}')).toBe(1);
    expect(
      value('gateway_http_request_duration_seconds_count{route="/v1/insurer-payments",method="POST",status="202"}'),
    ).toBe(1);
  });

  it('counts messages accepted, duplicate and rejected by kind', () => {
    expect(value('gateway_messages_total{kind="insurer_payment",outcome="accepted"}')).toBe(1);
    expect(value('gateway_messages_total{kind="insurer_payment",outcome="duplicate"}')).toBe(1);
    expect(value('gateway_messages_total{kind="insurer_payment",outcome="rejected"}')).toBe(1);
  });

  it("reports queue depth and the oldest waiting job's age per queue", () => {
    expect(value('gateway_queue_jobs{queue="ingest",state="waiting"}')).toBe(0);
    expect(value('gateway_queue_jobs{queue="ingest",state="failed"}')).toBe(0);
    expect(value('gateway_queue_oldest_waiting_age_seconds{queue="ingest"}')).toBe(0);
  });

  it('records how long the ingest job took', () => {
    expect(value('gateway_job_duration_seconds_count{kind="insurer_payment",result="ok"}')).toBeGreaterThanOrEqual(1);
  });

  it('reports open discrepancies by code and severity', () => {
    expect(value('gateway_discrepancies_open{code="PAYMENT_OVERDUE",severity="high"}')).toBe(1);
  });

  it('exposes the notification delivery counter for the notifications engine', async () => {
    t.gw.metrics.notificationDeliveries.inc({ result: 'delivered' });
    const res = await t.get('/metrics', null);
    expect(String(res.data)).toContain('notification_deliveries_total{result="delivered"} 1');
  });
});

describe('a queue with a waiting job', () => {
  it('shows its depth and a positive age for the oldest job', async () => {
    const q = t.gw.queues.get('metrics-probe');
    await q.add('probe', {}, { timestamp: Date.now() - 60_000 });
    const res = await t.get('/metrics', null);
    text = String(res.data);
    expect(value('gateway_queue_jobs{queue="metrics-probe",state="waiting"}')).toBe(1);
    expect(value('gateway_queue_oldest_waiting_age_seconds{queue="metrics-probe"}')).toBeGreaterThanOrEqual(60);
  });
});

describe('the fund year (spec §8) on /metrics', () => {
  let fundText: string;
  const series = (s: string) => {
    const line = fundText.split('\n').find((l) => l.startsWith(`${s} `));
    return line === undefined ? undefined : Number(line.slice(s.length + 1));
  };
  beforeAll(async () => {
    // Ulanqab flexible workers pay 192.00 a year (003 art. 8): 10 of them at 1,900.00 is a PREMIUM_RATE_MISMATCH.
    const collection = {
      collection_id: 'C-MET-1',
      admdvs: '150902',
      fund_year: '2024',
      period: '2024-05',
      payer_type: 'flexible',
      insured_count: 10,
      amount: '1900.00',
      collected_at: '2024-05-16T10:00:00+08:00',
    };
    expect((await t.post('/v1/premium-collections', collection, 'tax')).status).toBe(202);
    await t.drain();
    await t.gw.db.tx((q) =>
      syncGroup(
        q,
        'metrics-fund-test',
        [
          {
            code: 'FUND_DEFICIT',
            severity: 'high',
            subject_key: 'region_year:5331:2024',
            admdvs: '5331',
            insurer_code: '',
            period: '2024-12',
            detail: 'test',
            evidence: {},
          },
          {
            code: 'PROFIT_LIMIT_EXCEEDED',
            severity: 'high',
            subject_key: 'insurer_year:5331:CPIC_DH:2024',
            admdvs: '5331',
            insurer_code: 'CPIC_DH',
            period: '2024-12',
            detail: 'test',
            evidence: {},
          },
        ],
        new Date(),
      ),
    );
    fundText = String((await t.get('/metrics', null)).data);
  });

  it('counts the fund messages by kind, like every other', () => {
    expect(series('gateway_messages_total{kind="premium_collection",outcome="accepted"}')).toBe(1);
  });

  it('reports the open fund cases by code and severity, like every other', () => {
    expect(series('gateway_discrepancies_open{code="PREMIUM_RATE_MISMATCH",severity="medium"}')).toBe(1);
    expect(series('gateway_discrepancies_open{code="FUND_DEFICIT",severity="high"}')).toBe(1);
    expect(series('gateway_discrepancies_open{code="PROFIT_LIMIT_EXCEEDED",severity="high"}')).toBe(1);
  });
});
