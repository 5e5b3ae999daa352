/**
 * POST /v1/platform (spec §9): the national platform's envelope, dispatched by `infno`. routes.ts
 * has checked the signature and parsed the JSON; everything after that is answered the platform's
 * way — 200 with infcode 0, or −1 and an err_msg (zh-CN) that names the field — except scope, which
 * stays the §1 problem document (403), as the spec lists it among the HTTP-level failures. A 2208 of
 * a setl_id stored outside the client's scope is not a scope failure but "not found" (−1, the same
 * answer as an unknown setl_id), so it reveals nothing of other regions; a 2207 of a setl_id taken by
 * a region outside the scope is 403 OUT_OF_SCOPE at its setl_id, as the feed answers (judgeStored):
 * a new record cannot take an id that is taken, so that much is told by design, nothing more.
 *  - 2207 / 2208 (agency): one Settlement, or its reversal, stored by the agency feed's own path
 *    (ingest/settlement-record-service.ts): same ledger, duplicates, conflicts and findings.
 *  - 3201 (institution): the institution's totals against the agency's records (ledger/platform-read-model.ts).
 *  - 9101 / 3202 / 9102 (institution): a detail file uploaded, reconciled, the result downloaded
 *    (detail-service.ts); a 9102 answers the file's bytes, not an envelope.
 */
import crypto from 'node:crypto';
import type { Client, ClientRegistry, Role } from '../http/clients';
import { inScope } from '../http/auth';
import { forbidden } from '../http/problem';
import type { SchemaValidator } from '../schemas/validator';
import type { IngestDeps } from '../ingest/ingest-service';
import { acceptSettlementRecords, type SettlementRecordsOutcome } from '../ingest/settlement-record-service';
import type { PlatformMappingDocument } from '../benefits/policy-types';
import type { Db } from '../db/db';
import { loadStatementTotals, loadStoredSettlement } from '../ledger/platform-read-model';
import { toCstIso } from '../time';
import { dottedField, envelopeFieldOf, isObject, reversalFrom2208, settlementFrom2207 } from './settlement-mapping';
import { compareStatement, statementFilter, type Statement3201 } from './statement';
import {
  download9102,
  statement3202,
  upload9101,
  type DetailDeps,
  type DetailOutcome,
  type DownloadedFile,
} from './detail-service';

/** What the composition root gives the platform route and service. */
export interface PlatformDeps {
  db: Db;
  validator: SchemaValidator;
  clients: ClientRegistry;
  now: () => number;
  maxBodyBytes: number;
  /** The region's `platform` mapping for an insuplc_admdvs (RegionPolicies.regionFor(…)?.document.platform). */
  platformMappingFor: (admdvs: string) => PlatformMappingDocument | undefined;
  onCommitted: IngestDeps['onCommitted'];
  onOutcome?: IngestDeps['onOutcome'];
  /** 3202's findings: the grace period of the region (loop parameters) and the calendar. */
  calendar: DetailDeps['calendar'];
  loopParamsFor: DetailDeps['loopParamsFor'];
}

/** A 9102's answer: the stored file itself. */
export interface PlatformFileAnswer {
  file: DownloadedFile;
}

/** The response envelope. */
export interface PlatformResponse {
  infcode: 0 | -1;
  inf_refmsgid: string;
  refmsg_time: string;
  respond_time: string;
  err_msg: string | null;
  output: Record<string, unknown> | null;
}

export interface PlatformRequest {
  client: Client;
  webhookId: string;
  raw: Buffer;
  value: unknown;
  text: string;
  requestId?: string;
}

/** Who may send each transaction (spec §9). */
export const PLATFORM_INFNOS: Readonly<Record<string, Role>> = {
  2207: 'agency',
  2208: 'agency',
  3201: 'institution',
  9101: 'institution',
  3202: 'institution',
  9102: 'institution',
};

const ROLE_ZH: Record<string, string> = {
  agency: '经办机构',
  institution: '定点医药机构',
  insurer: '保险公司',
  ops: '运维',
  tax: '税务',
  finance: '财政',
};

/** The platform's own time format, yyyy-MM-dd HH:mm:ss in China Standard Time. */
const platformTime = (t: Date) => toCstIso(t).slice(0, 19).replace('T', ' ');

class Refused extends Error {}

export interface PlatformService {
  /** Answers the envelope (or a 9102's file); throws only a 403 problem (data outside the client's scope). */
  handle(req: PlatformRequest): Promise<PlatformResponse | PlatformFileAnswer>;
}

export function createPlatformService(deps: PlatformDeps): PlatformService {
  return {
    async handle(req) {
      const receivedAt = new Date(deps.now());
      const reply = (
        infcode: 0 | -1,
        err_msg: string | null,
        output: Record<string, unknown> | null,
      ): PlatformResponse => ({
        infcode,
        inf_refmsgid: req.requestId ?? crypto.randomUUID(),
        refmsg_time: platformTime(receivedAt),
        respond_time: platformTime(new Date(deps.now())),
        err_msg,
        output,
      });
      const fail = (msg: string) => {
        deps.onOutcome?.('platform', 'rejected');
        return reply(-1, msg, null);
      };
      const env = req.value;
      if (!isObject(env)) return fail('报文：应为 JSON 对象（交易报文 {infno, msgid, …, input}）');
      const infno = env.infno;
      if (infno === undefined || infno === null || infno === '') return fail('infno：缺少交易编号 infno');
      if (typeof infno !== 'string') return fail('infno：交易编号 infno 应为字符串');
      const role = Object.hasOwn(PLATFORM_INFNOS, infno) ? PLATFORM_INFNOS[infno] : undefined;
      if (!role)
        return fail(`infno：不支持的交易编号 ${infno.slice(0, 20)}（支持 ${Object.keys(PLATFORM_INFNOS).join('、')}）`);
      if (req.client.role !== role)
        return fail(
          `infno：交易 ${infno} 仅限${ROLE_ZH[role]}（${role}）发送，客户端 ${req.client.client_id} 的角色为 ${req.client.role}`,
        );
      const errors = deps.validator.validate('platform-envelope', env, 'zh-CN', '', req.text);
      if (errors.length)
        return fail(
          errors
            .slice(0, 3)
            .map((e) => `${dottedField(e.path)}：${e.message}`)
            .join('；'),
        );
      try {
        if (infno === '9101' || infno === '3202' || infno === '9102') {
          const out: DetailOutcome<Record<string, unknown> | DownloadedFile> =
            infno === '9101'
              ? await upload9101(deps, req.client, env)
              : infno === '3202'
                ? await statement3202(deps, req.client, env)
                : await download9102(deps, req.client, env);
          if (!out.ok) return fail(`${out.field}：${out.message}`);
          deps.onOutcome?.('platform', 'accepted');
          return infno === '9102'
            ? { file: out.value as DownloadedFile }
            : reply(0, null, out.value as Record<string, unknown>);
        }
        const output =
          infno === '2207'
            ? await settle(deps, req, env)
            : infno === '2208'
              ? await reverse(deps, req, env)
              : await statement(deps, req, env);
        deps.onOutcome?.('platform', 'accepted');
        return reply(0, null, output);
      } catch (e) {
        if (e instanceof Refused) return fail(e.message);
        throw e;
      }
    },
  };
}

const refused = (field: string, message: string) => new Refused(`${field}：${message}`);

/** 2207: setlinfo + setldetail → one Settlement, stored as the feed stores it. */
async function settle(
  deps: PlatformDeps,
  req: PlatformRequest,
  env: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const input = env.input as Record<string, unknown>;
  const mapped = settlementFrom2207(env, input, deps.platformMappingFor);
  if (!mapped.ok) throw refused(mapped.refusal.field, mapped.refusal.message);
  const admdvs = String(mapped.record.insuplc_admdvs ?? '');
  const referralField = /^[0-9]{6}$/.test(admdvs) ? deps.platformMappingFor(admdvs)?.referral_field.field : undefined;
  const out = await acceptSettlementRecords(
    deps,
    { client: req.client, webhookId: req.webhookId, raw: req.raw, requestId: req.requestId, lang: 'zh-CN' },
    [mapped.record],
  );
  return answerStored(deps, out, String(mapped.record.setl_id), referralField);
}

/** 2208: the stored record sent again with status reversed (spec §3). */
async function reverse(
  deps: PlatformDeps,
  req: PlatformRequest,
  env: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const data = (env.input as { data: { setl_id: string; mdtrt_id: string; psn_no: string; insuplc_admdvs?: string } })
    .data;
  const insuplc =
    data.insuplc_admdvs ??
    (typeof env.insuplc_admdvs === 'string' && env.insuplc_admdvs !== '' ? env.insuplc_admdvs : undefined);
  const rows = await loadStoredSettlement(deps.db, data.setl_id);
  const stored = rows[0];
  // A record stored under a region outside the client's scope answers exactly as one never stored
  // (as reads of another party's data answer 404): a 2208 must not tell an agency which setl_ids
  // exist in other regions. Nothing of that record is read further or changed.
  if (!stored || !inScope(req.client, { admdvs: stored.insuplc_admdvs }))
    throw refused('input.data.setl_id', `结算 ${data.setl_id} 未找到：撤销前须先以 2207 上传该结算`);
  const done = rows.find((r) => r.status === 'reversed');
  if (done) return { setl_id: data.setl_id, message_id: done.message_id, duplicate: true };
  const valid = rows.find((r) => r.status === 'valid')!;
  const mapped = reversalFrom2208(data, insuplc, valid);
  if (!mapped.ok) throw refused(mapped.refusal.field, mapped.refusal.message);
  const out = await acceptSettlementRecords(
    deps,
    { client: req.client, webhookId: req.webhookId, raw: req.raw, requestId: req.requestId, lang: 'zh-CN' },
    [mapped.record],
  );
  return answerStored(deps, out, data.setl_id);
}

function answerStored(
  deps: PlatformDeps,
  out: SettlementRecordsOutcome,
  setlId: string,
  referralField?: string,
): Record<string, unknown> {
  if (out.accepted > 0) {
    deps.onCommitted();
    return { setl_id: setlId, message_id: out.message_id, duplicate: false };
  }
  if (out.duplicates > 0) return { setl_id: setlId, message_id: out.firstDuplicateOf ?? null, duplicate: true };
  const errors = out.rejected[0]?.errors ?? [];
  const scope = errors.find((e) => e.code === 'OUT_OF_SCOPE');
  if (scope)
    throw forbidden({ en: "the settlement is outside the client's scope", zh: scope.message }, [
      { ...scope, path: `/input/setlinfo${scope.path}` },
    ]);
  const msg = errors
    .slice(0, 3)
    .map((e) => `${envelopeFieldOf(e.path, referralField)}：${e.message}`)
    .join('；');
  throw new Refused(msg || 'input.setlinfo：结算记录未被受理');
}

/** 3201: the institution's totals compared with the agency's records of it in those dates. */
async function statement(
  deps: PlatformDeps,
  req: PlatformRequest,
  env: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const fixmedins = env.fixmedins_code;
  if (typeof fixmedins !== 'string' || fixmedins === '')
    throw refused('fixmedins_code', '3201 须在报文头提供定点医药机构编号 fixmedins_code');
  if (!inScope(req.client, { fixmedins_code: fixmedins })) {
    throw forbidden(
      {
        en: `${fixmedins} is outside client ${req.client.client_id}'s scope`,
        zh: `${fixmedins} 不在客户端 ${req.client.client_id} 的授权范围内`,
      },
      [{ path: '/fixmedins_code', code: 'OUT_OF_SCOPE', message: `${fixmedins} 不在授权范围内` }],
    );
  }
  const data = (env.input as { data: Statement3201 }).data;
  const filter = statementFilter(fixmedins, data);
  if ('field' in filter) throw refused(filter.field, filter.message);
  return { stmtinfo: compareStatement(data, await loadStatementTotals(deps.db, filter)) };
}
