/**
 * The case lifecycle (spec §4) as planCaseChanges decides it: open, update, auto-resolve, reopen,
 * and a case resolved by hand staying resolved while its cause is unchanged. Pure: no database.
 */
import type { Finding } from '../../../src/matching';
import {
  fingerprint,
  keysNeedingHistory,
  planCaseChanges,
  type CaseGroup,
  type OpenCase,
  type PlanContext,
  type ResolvedCase,
} from '../../../src/discrepancies/plan-case-changes';

const AT = new Date('2025-04-10T02:00:00Z');
const EARLIER = new Date('2025-03-01T02:00:00Z');

function finding(over: Partial<Finding<object>> = {}): Finding<object> {
  return {
    code: 'UNDERPAID',
    severity: 'high',
    subject_key: 'settlement:S1',
    admdvs: '533102',
    insurer_code: 'PICC_DH',
    fixmedins_code: 'H53310200001',
    period: '2025-03',
    setl_id: 'S1',
    expected_amount: '1000.00',
    actual_amount: '800.00',
    difference: '-200.00',
    detail: 'Settlement S1: paid 800.00 of 1000.00.',
    evidence: { message_ids: ['m1', 'm2'] },
    ...over,
  };
}

function ctx(): PlanContext & { ids: string[] } {
  const ids: string[] = [];
  let n = 0;
  return {
    at: AT,
    actor: 'system',
    ids,
    newId: () => {
      const id = `00000000-0000-7000-8000-${String(++n).padStart(12, '0')}`;
      ids.push(id);
      return id;
    },
  };
}

function openCase(f: Finding<object>, over: Partial<OpenCase> = {}): OpenCase {
  return {
    id: 'c-open',
    code: f.code,
    subject_key: f.subject_key,
    group_key: 'setl:S1',
    fingerprint: fingerprint(f),
    detected_at: EARLIER,
    admdvs: f.admdvs,
    ...over,
  };
}

function resolvedCase(
  f: Finding<object>,
  resolution: 'auto' | 'manual',
  over: Partial<ResolvedCase> = {},
): ResolvedCase {
  return {
    id: 'c-old',
    code: f.code,
    subject_key: f.subject_key,
    resolution,
    fingerprint: fingerprint(f),
    detected_at: EARLIER,
    ...over,
  };
}

const group = (findings: Finding<object>[], groupKey = 'setl:S1'): CaseGroup => ({ groupKey, findings });

describe('planCaseChanges', () => {
  test('when a finding has no case and no history, then a case opens and the event is "opened"', () => {
    const c = ctx();
    const f = finding();
    const plan = planCaseChanges([], [], [group([f])], c);
    expect(plan.opens).toEqual([
      { id: c.ids[0], group_key: 'setl:S1', finding: f, fingerprint: fingerprint(f), reopens: null },
    ]);
    expect(plan.updates).toEqual([]);
    expect(plan.resolves).toEqual([]);
    expect(plan.events).toEqual([
      {
        entity: 'discrepancy',
        entity_id: c.ids[0],
        admdvs: '533102',
        action: 'opened',
        actor: 'system',
        at: AT,
        data: { code: 'UNDERPAID', subject_key: 'settlement:S1', fingerprint: fingerprint(f) },
      },
    ]);
  });

  test("when an open case's cause is unchanged, then nothing changes", () => {
    const f = finding();
    const plan = planCaseChanges([openCase(f)], [], [group([f])], ctx());
    expect(plan).toEqual({ opens: [], updates: [], resolves: [], events: [] });
  });

  test('when only the detail sentence changes, then the case is left as it is (the cause is amounts, evidence and severity)', () => {
    const f = finding();
    const plan = planCaseChanges([openCase(f)], [], [group([finding({ detail: 'reworded' })])], ctx());
    expect(plan.events).toEqual([]);
  });

  test("when an open case's amounts change, then it is updated (occurrences + 1 in the store) with the new fingerprint", () => {
    const was = finding();
    const now = finding({ actual_amount: '900.00', difference: '-100.00' });
    const plan = planCaseChanges([openCase(was)], [], [group([now])], ctx());
    expect(plan.updates).toEqual([{ id: 'c-open', finding: now, fingerprint: fingerprint(now) }]);
    expect(plan.opens).toEqual([]);
    expect(plan.events).toEqual([
      {
        entity: 'discrepancy',
        entity_id: 'c-open',
        admdvs: '533102',
        action: 'updated',
        actor: 'system',
        at: AT,
        data: { code: 'UNDERPAID', subject_key: 'settlement:S1', fingerprint: fingerprint(now) },
      },
    ]);
  });

  test('when the severity or the evidence changes, then the case is updated', () => {
    const was = finding();
    for (const now of [finding({ severity: 'critical' }), finding({ evidence: { message_ids: ['m1', 'm2', 'm3'] } })]) {
      expect(planCaseChanges([openCase(was)], [], [group([now])], ctx()).updates.map((u) => u.id)).toEqual(['c-open']);
    }
  });

  test('when the group no longer names an open case, then it is auto-resolved', () => {
    const f = finding();
    const plan = planCaseChanges([openCase(f)], [], [group([])], ctx());
    expect(plan.resolves).toEqual([{ id: 'c-open', code: 'UNDERPAID', subject_key: 'settlement:S1' }]);
    expect(plan.events).toEqual([
      {
        entity: 'discrepancy',
        entity_id: 'c-open',
        admdvs: '533102',
        action: 'auto_resolved',
        actor: 'system',
        at: AT,
        data: { code: 'UNDERPAID', subject_key: 'settlement:S1' },
      },
    ]);
  });

  test("when an acknowledged case's cause is gone, then it is auto-resolved like an open one", () => {
    // The store hands over every case that is not resolved (open or acknowledged) as open.
    const plan = planCaseChanges(
      [openCase(finding(), { id: 'c-ack' })],
      [],
      [group([finding({ code: 'PAID_LATE', severity: 'low' })])],
      ctx(),
    );
    expect(plan.resolves.map((r) => r.id)).toEqual(['c-ack']);
    expect(plan.opens.map((o) => o.finding.code)).toEqual(['PAID_LATE']);
  });

  test('when a finding returns after auto-resolve, then a new case reopens it: "reopened", reopens = the old case\'s id', () => {
    const c = ctx();
    const f = finding();
    const plan = planCaseChanges([], [resolvedCase(f, 'auto')], [group([f])], c);
    expect(plan.opens).toEqual([
      { id: c.ids[0], group_key: 'setl:S1', finding: f, fingerprint: fingerprint(f), reopens: 'c-old' },
    ]);
    expect(plan.events).toEqual([
      {
        entity: 'discrepancy',
        entity_id: c.ids[0],
        admdvs: '533102',
        action: 'reopened',
        actor: 'system',
        at: AT,
        data: { code: 'UNDERPAID', subject_key: 'settlement:S1', fingerprint: fingerprint(f), reopens: 'c-old' },
      },
    ]);
  });

  test('when a finding returns after auto-resolve with other amounts, then it reopens too', () => {
    const plan = planCaseChanges(
      [],
      [resolvedCase(finding(), 'auto')],
      [group([finding({ actual_amount: '700.00', difference: '-300.00' })])],
      ctx(),
    );
    expect(plan.opens.map((o) => o.reopens)).toEqual(['c-old']);
  });

  test("when a resolved-by-hand case's cause is unchanged, then it stays resolved", () => {
    const f = finding();
    const plan = planCaseChanges([], [resolvedCase(f, 'manual')], [group([f])], ctx());
    expect(plan).toEqual({ opens: [], updates: [], resolves: [], events: [] });
  });

  test("when a resolved-by-hand case's cause changes, then a new case reopens it", () => {
    const now = finding({ actual_amount: '600.00', difference: '-400.00' });
    const plan = planCaseChanges([], [resolvedCase(finding(), 'manual')], [group([now])], ctx());
    expect(plan.opens.map((o) => o.reopens)).toEqual(['c-old']);
    expect(plan.events.map((e) => e.action)).toEqual(['reopened']);
  });

  test('when several resolved cases share the key, then the latest detected one decides (then the greatest id)', () => {
    const f = finding();
    const older = resolvedCase(f, 'auto', { id: 'c-1', detected_at: new Date('2025-01-01T00:00:00Z') });
    const manual = resolvedCase(f, 'manual', { id: 'c-2', detected_at: EARLIER });
    expect(planCaseChanges([], [manual, older], [group([f])], ctx()).opens).toEqual([]);
    const tie = resolvedCase(f, 'auto', { id: 'c-3', detected_at: EARLIER });
    expect(planCaseChanges([], [manual, tie, older], [group([f])], ctx()).opens.map((o) => o.reopens)).toEqual(['c-3']);
  });

  test('when the same (code, subject) is open in another group, then nothing is opened (one open case per key)', () => {
    const f = finding();
    const plan = planCaseChanges([openCase(f, { group_key: 'setl:OTHER' })], [], [group([f])], ctx());
    expect(plan).toEqual({ opens: [], updates: [], resolves: [], events: [] });
  });

  test('when a group names the same (code, subject) twice, then only the first counts', () => {
    const first = finding();
    const plan = planCaseChanges([], [], [group([first, finding({ actual_amount: '1.00' })])], ctx());
    expect(plan.opens.map((o) => o.finding)).toEqual([first]);
  });

  test('when a group has no findings and no open cases, then nothing happens', () => {
    expect(planCaseChanges([], [], [group([])], ctx())).toEqual({ opens: [], updates: [], resolves: [], events: [] });
  });

  test('when an open case belongs to a group not being synced, then it is left as it is', () => {
    const f = finding();
    const plan = planCaseChanges([openCase(f, { group_key: 'setl:S9' })], [], [group([], 'setl:S1')], ctx());
    expect(plan.resolves).toEqual([]);
  });

  test('when one group resolves a case and a later group of the same sync names it, then the later one reopens it', () => {
    const c = ctx();
    const f = finding();
    const plan = planCaseChanges([openCase(f, { group_key: 'a' })], [], [group([], 'a'), group([f], 'b')], c);
    expect(plan.resolves.map((r) => r.id)).toEqual(['c-open']);
    expect(plan.opens).toEqual([
      { id: c.ids[0], group_key: 'b', finding: f, fingerprint: fingerprint(f), reopens: 'c-open' },
    ]);
    expect(plan.events.map((e) => e.action)).toEqual(['auto_resolved', 'reopened']);
  });

  test('when a case was resolved by hand and an earlier group of the same sync resolves an older one, then the hand-resolved one still decides', () => {
    const f = finding();
    const manual = resolvedCase(f, 'manual', { id: 'c-manual', detected_at: AT });
    const plan = planCaseChanges(
      [openCase(f, { group_key: 'a', detected_at: EARLIER })],
      [manual],
      [group([], 'a'), group([f], 'b')],
      ctx(),
    );
    expect(plan.opens).toEqual([]);
  });

  test('when a group opens, updates and resolves at once, then the events are its opens and updates in finding order, then its resolutions', () => {
    const c = ctx();
    const kept = finding({ code: 'UNDERPAID' });
    const gone = finding({ code: 'PAID_LATE', severity: 'low' });
    const fresh = finding({ code: 'DUPLICATE_PAYMENT', severity: 'critical' });
    const open = [openCase(kept, { id: 'c-kept' }), openCase(gone, { id: 'c-gone' })];
    const plan = planCaseChanges(open, [], [group([fresh, { ...kept, actual_amount: '999.00' }])], c);
    expect(plan.events.map((e) => [e.action, e.entity_id])).toEqual([
      ['opened', c.ids[0]],
      ['updated', 'c-kept'],
      ['auto_resolved', 'c-gone'],
    ]);
  });

  test('when several groups are synced, then each is planned in the order given, with its own findings', () => {
    const a = finding({ subject_key: 'settlement:A', setl_id: 'A' });
    const b = finding({ subject_key: 'settlement:B', setl_id: 'B' });
    const plan = planCaseChanges([], [], [group([a], 'setl:A'), group([b], 'setl:B')], ctx());
    expect(plan.opens.map((o) => [o.group_key, o.finding.subject_key])).toEqual([
      ['setl:A', 'settlement:A'],
      ['setl:B', 'settlement:B'],
    ]);
  });

  test('when the actor is an operator tool, then every event names it', () => {
    const plan = planCaseChanges([], [], [group([finding()])], { ...ctx(), actor: 'ops-cli' });
    expect(plan.events.map((e) => e.actor)).toEqual(['ops-cli']);
  });
});

describe('keysNeedingHistory', () => {
  test('when a key is open in its own group, then its history is not read; otherwise it is, once', () => {
    const mine = finding();
    const elsewhere = finding({ code: 'PAID_LATE', severity: 'low' });
    const fresh = finding({ code: 'OVERPAID', severity: 'critical' });
    const open = [openCase(mine), openCase(elsewhere, { id: 'c-2', group_key: 'setl:OTHER' })];
    expect(keysNeedingHistory(open, [group([mine, elsewhere, fresh, fresh])])).toEqual([
      { code: 'PAID_LATE', subject_key: 'settlement:S1' },
      { code: 'OVERPAID', subject_key: 'settlement:S1' },
    ]);
  });
});

describe('fingerprint', () => {
  test('when amounts are equal as text, then the fingerprint is equal; the detail does not count', () => {
    expect(fingerprint(finding())).toBe(fingerprint(finding({ detail: 'other words' })));
    expect(fingerprint(finding())).not.toBe(fingerprint(finding({ expected_amount: '1000.01' })));
  });

  test('when evidence keys come in another order, then the fingerprint is the same (canonical JSON)', () => {
    expect(fingerprint(finding({ evidence: { a: 1, b: 2 } }))).toBe(fingerprint(finding({ evidence: { b: 2, a: 1 } })));
  });
});
