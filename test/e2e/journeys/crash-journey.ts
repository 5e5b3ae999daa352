/**
 * Journey (shared by crash-embedded.test.ts and crash-pg.test.ts, two files so that their waits —
 * after a kill -9, BullMQ finds the dead worker's jobs stalled only after about a minute — overlap):
 * a stream of signed payments, the gateway killed with SIGKILL in the middle of it, started
 * again. Every payment answered 202 must be stored after the restart and processed once, its
 * settlement's loop counting it once; the client then resends what got no answer (same webhook-id)
 * and everything ends up counted exactly once. On the embedded database (PGlite) this is the
 * measurement behind the README's durability statement; on PostgreSQL it is the baseline.
 */
import { payment, settlement } from '../../support/fixtures';
import {
  journeyEnv,
  startGateway,
  until,
  waitProcessed,
  type DbMode,
  type GatewayProc,
  type JourneyEnv,
} from './journey-support';

const N = 45;
const SENDERS = 4;

interface Sent {
  i: number;
  webhookId: string;
  status?: number;
  messageId?: string;
}

const pay = (i: number) =>
  payment({
    payment_id: `K-PAY-${i}`,
    bank_txn_no: `BK-K-${i}`,
    lines: [{ setl_id: `K-${i}`, paid_amount: '90000.00' }],
  });

/** Payments 1..N from SENDERS concurrent clients; `onAnswer` may kill the gateway. Stops at the first failure. */
async function stream(gw: GatewayProc, sent: Sent[], onAnswer: (n202: number) => Promise<void>): Promise<void> {
  let next = 1;
  let n202 = 0;
  let broken = false;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (!broken && next <= N) {
        const i = next++;
        const s: Sent = { i, webhookId: `msg_crash_${Date.now()}_${i}` };
        sent.push(s);
        try {
          const r = await gw.post('/v1/insurer-payments', pay(s.i), 'insurerA', {
            webhookId: s.webhookId,
            timeoutMs: 20_000,
          });
          s.status = r.status;
          if (r.status === 202) {
            s.messageId = r.data.message_id;
            n202++;
            await onAnswer(n202);
          }
        } catch {
          broken = true; // connection refused or reset: the gateway is gone
        }
      }
    }),
  );
}

export function crashJourney(mode: DbMode): void {
  let env: JourneyEnv;
  beforeAll(async () => {
    env = await journeyEnv(`crash-${mode}`, mode);
  });
  afterAll(async () => {
    await env.cleanup();
  });

  test('when the gateway is killed with SIGKILL in the middle of a stream of payments, then every payment answered 202 is stored after a restart and counted once', async () => {
    const first = await startGateway(env);
    await first.waitReady();
    const feed = {
      settlements: Array.from({ length: N }, (_, k) => settlement({ setl_id: `K-${k + 1}`, mdtrt_id: `KM-${k + 1}` })),
    };
    const f = await first.post('/v1/agency/settlements', feed, 'agency');
    expect(f.status).toBe(202);
    await waitProcessed(first, [f.data.message_id], 'agency', 120_000);

    const sent: Sent[] = [];
    let killed = false;
    await stream(first, sent, async (n202) => {
      if (!killed && n202 >= N / 3) {
        killed = true;
        await first.kill9();
      }
    });
    expect(killed).toBe(true);
    const answered = sent.filter((s) => s.status === 202);

    const second = await startGateway(env);
    await second.waitReady();
    let found = 0;
    for (const s of answered) {
      const m = await second.get(`/v1/messages/${s.messageId}`, 'insurerA');
      if (m.status === 200) found++;
    }
    if (process.env.JOURNEY_REPORT)
      process.stdout.write(
        `[crash ${mode}] sent ${sent.length}, answered 202: ${answered.length}, stored after kill -9 and restart: ${found}\n`,
      );
    expect(found).toBe(answered.length);

    // The client resends what got no answer with the same webhook-id (a duplicate if it was stored),
    // then sends the rest.
    const ids = answered.map((s) => s.messageId!);
    for (let i = 1; i <= N; i++) {
      const s = sent.find((x) => x.i === i);
      if (s?.status === 202) continue;
      const r = await second.post('/v1/insurer-payments', pay(i), 'insurerA', s ? { webhookId: s.webhookId } : {});
      expect([200, 202]).toContain(r.status);
      ids.push(r.data.message_id);
    }
    expect(new Set(ids).size).toBe(N);
    await waitProcessed(second, ids, 'insurerA', 180_000);
    for (let i = 1; i <= N; i++) {
      const r = await until(`settlement K-${i} read`, async () => {
        const g = await second.get(`/v1/settlements/K-${i}`, 'insurerA');
        return g.status === 200 ? g : undefined;
      });
      expect({ setl_id: `K-${i}`, paid: r.data.loop.paid, payments: r.data.payments.length }).toEqual({
        setl_id: `K-${i}`,
        paid: '90000.00',
        payments: 1,
      });
    }
    expect((await second.stop('SIGTERM', 30_000)).code).toBe(0);
  });
}
