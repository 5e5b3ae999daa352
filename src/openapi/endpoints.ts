/**
 * The endpoint table of the exchange (spec §3 and §5): one row per method and path, as data. The
 * OpenAPI document is generated from this table and from `schemas/`; nothing in it is written as
 * OpenAPI by hand. A route the app serves without a row here fails test/e2e/openapi.test.ts.
 */
import type { Role } from '../http/clients';

/** `operator`: spec §2's operator actions, which take the signature headers or a bearer token. */
export type Auth = 'signed' | 'bearer' | 'operator' | 'none';

export interface Text {
  en: string;
  zh: string;
}

export interface QueryParam {
  name: string;
  schema: Record<string, unknown>;
  description: string;
}

export interface ResponseSpec {
  description: string;
  /** A component name (schemas/ or response-schemas.ts), or a literal schema. */
  schema?: string | Record<string, unknown>;
  /** Key into EXAMPLES (examples.ts). */
  example?: string;
  contentType?: string;
  headers?: Record<string, { description: string; schema: Record<string, unknown> }>;
}

export interface Endpoint {
  method: 'get' | 'post' | 'delete';
  /** OpenAPI style: `/v1/settlements/{setl_id}` ↔ express `/v1/settlements/:setl_id`. */
  path: string;
  tag: string;
  auth: Auth;
  roles: Role[] | 'any';
  summary: Text;
  description?: string;
  query?: QueryParam[];
  request?: { schema: string; example: string; ndjson?: boolean; required?: boolean };
  responses: Record<number, ResponseSpec>;
  /** Problem statuses this endpoint can answer (application/problem+json). */
  errors: number[];
}

const WRITE_ERRORS = [400, 401, 403, 409, 413, 415, 422, 429];
const READ_ERRORS = [400, 401, 404, 429];
const accepted: ResponseSpec = {
  description: 'Durably stored; processing follows (202).',
  schema: 'Accepted',
  example: 'accepted',
};
const duplicate: ResponseSpec = {
  description: 'The same business key with an identical body: the first message_id, `duplicate: true`.',
  schema: 'Accepted',
  example: 'duplicate',
};

/** The five single-document kinds of spec §3 (paths and roles as in src/ingest/kinds.ts). */
const single = (
  path: string,
  roles: Role | Role[],
  schema: string,
  example: string,
  key: string,
  summary: Text,
): Endpoint => ({
  method: 'post',
  path,
  tag: 'Inbound messages',
  auth: 'signed',
  roles: typeof roles === 'string' ? [roles] : roles,
  summary,
  description: `Business key: ${key}. Resending the key with an identical body answers 200 with the first message_id; with a different body, 409.`,
  request: { schema, example },
  responses: { 200: duplicate, 202: accepted },
  errors: WRITE_ERRORS,
});

const limitParams: QueryParam[] = [
  { name: 'limit', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 }, description: 'Page size.' },
  { name: 'cursor', schema: { type: 'string' }, description: 'next_cursor of the previous page.' },
];
const filter = (name: string, ref: string | Record<string, unknown>, description: string): QueryParam => ({
  name,
  schema: typeof ref === 'string' ? { $ref: ref } : ref,
  description,
});

export const ENDPOINTS: Endpoint[] = [
  // §5 operations (public)
  {
    method: 'get',
    path: '/healthz',
    tag: 'Operations',
    auth: 'none',
    roles: 'any',
    summary: { en: 'Process is up', zh: '进程存活' },
    responses: { 200: { description: 'Up.', schema: 'Health', example: 'healthz' } },
    errors: [],
  },
  {
    method: 'get',
    path: '/readyz',
    tag: 'Operations',
    auth: 'none',
    roles: 'any',
    summary: { en: 'Database and Redis reachable', zh: '数据库与 Redis 可用' },
    responses: {
      200: { description: 'Ready.', schema: 'Readiness', example: 'readyz' },
      503: { description: 'A dependency is unreachable.', schema: 'Readiness', example: 'notReady' },
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'Operations',
    auth: 'none',
    roles: 'any',
    summary: { en: 'Prometheus metrics', zh: 'Prometheus 监控指标' },
    responses: {
      200: { description: 'Prometheus text exposition format.', contentType: 'text/plain', schema: { type: 'string' } },
    },
    errors: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    tag: 'Operations',
    auth: 'none',
    roles: 'any',
    summary: { en: 'This OpenAPI document', zh: '本 OpenAPI 文档' },
    responses: { 200: { description: 'OpenAPI 3.1, generated from schemas/.', schema: { type: 'object' } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/docs',
    tag: 'Operations',
    auth: 'none',
    roles: 'any',
    summary: { en: 'API documentation (Swagger UI)', zh: '接口文档（Swagger UI）' },
    responses: {
      200: { description: 'HTML page; assets served locally.', contentType: 'text/html', schema: { type: 'string' } },
    },
    errors: [],
  },

  // §3 inbound messages
  {
    method: 'post',
    path: '/v1/agency/settlements',
    tag: 'Inbound messages',
    auth: 'signed',
    roles: ['agency'],
    summary: {
      en: 'Agency settlement feed (JSON or NDJSON, ≤ 100,000 records)',
      zh: '经办机构结算数据推送（JSON 或 NDJSON，每次至多 100,000 条）',
    },
    description:
      "Business key: setl_id (and status) per record. Each record is validated on its own; one bad record never sinks the rest. Per-record results: `rejected[].index` is the record's position (the line index, from 0, for NDJSON). Records already stored with an identical body count as duplicates; with a different body they are rejected with IDEMPOTENCY_CONFLICT. A setl_id is judged by the region it is stored under: stored under a region outside the sender's scope, the record is rejected with OUT_OF_SCOPE at /setl_id (whatever that record holds); under another region of the scope, with REGION_MISMATCH (a record never moves between regions). When no record is accepted the answer is 422 with the per-record results.",
    request: { schema: 'SettlementFeed', example: 'settlementFeed', ndjson: true },
    responses: {
      200: { description: 'Every record was a duplicate.', schema: 'FeedResult', example: 'feedDuplicate' },
      202: { description: 'Stored; per-record results.', schema: 'FeedResult', example: 'feedResult' },
    },
    errors: WRITE_ERRORS,
  },
  {
    method: 'post',
    path: '/v1/platform',
    tag: 'Inbound messages',
    auth: 'signed',
    roles: ['agency', 'institution'],
    summary: {
      en: "The platform's envelope: 2207 settlement, 2208 reversal (agency), 3201 reconciliation of totals (institution)",
      zh: '医保平台报文：2207 结算、2208 撤销（经办机构），3201 对总账（定点医药机构）',
    },
    description:
      'Spec §9. Signed as every write; HTTP-level failures (signature, scope, malformed JSON, size) are problem documents. A well-formed request always answers 200 with the response envelope: `infcode` 0, or −1 with an `err_msg` (zh-CN) naming the field (a missing or unknown `infno`, an `input` of the wrong shape, a role that may not send the transaction, a mapping that cannot be decided). 2207/2208 are stored as the agency feed stores a record (same duplicates and conflicts: `output.duplicate`); 3201 answers `output.stmtinfo {setl_optins, stmt_rslt ("0" balanced, "1" not), stmt_rslt_dscr}`.',
    request: { schema: 'PlatformEnvelope', example: 'platform2207' },
    responses: {
      200: {
        description: 'The response envelope.',
        example: 'platformAnswer',
        schema: {
          type: 'object',
          required: ['infcode', 'inf_refmsgid', 'refmsg_time', 'respond_time', 'err_msg', 'output'],
          properties: {
            infcode: { type: 'integer', enum: [0, -1] },
            inf_refmsgid: { type: 'string' },
            refmsg_time: { type: 'string' },
            respond_time: { type: 'string' },
            err_msg: { type: ['string', 'null'] },
            output: { type: ['object', 'null'] },
          },
        },
      },
    },
    errors: [400, 401, 403, 413, 415, 422, 429],
  },
  single('/v1/agency/disbursements', 'agency', 'Disbursement', 'disbursement', 'disbursement_id', {
    en: 'Agency disbursement to an insurer',
    zh: '经办机构向保险公司拨付资金',
  }),
  single(
    '/v1/settlement-batches',
    'institution',
    'SettlementBatch',
    'settlementBatch',
    '(fixmedins_code, batch_id) (≤ 50,000 items; replaces_batch_id names an earlier batch of the same institution)',
    { en: 'Institution monthly declaration', zh: '定点医疗机构月度申报' },
  ),
  single('/v1/insurer-payments', 'insurer', 'InsurerPayment', 'insurerPayment', '(insurer_code, payment_id)', {
    en: 'Insurer payment',
    zh: '保险公司支付',
  }),
  single('/v1/spending-plans', 'insurer', 'SpendingPlan', 'spendingPlan', '(insurer_code, period) + revision', {
    en: 'Insurer spending plan',
    zh: '保险公司用款计划',
  }),
  single('/v1/recoveries', 'insurer', 'Recovery', 'recovery', '(insurer_code, recovery_id)', {
    en: 'Recovery after payment',
    zh: '支付后追回',
  }),
  // §8 the fund year
  single(
    '/v1/premium-collections',
    ['tax', 'agency'],
    'PremiumCollection',
    'premiumCollection',
    "collection_id (admdvs inside the sender's scope)",
    { en: 'Premiums collected (tax)', zh: '保费征收（税务）' },
  ),
  single(
    '/v1/fund-transfers',
    ['finance', 'agency'],
    'FundTransfer',
    'fundTransfer',
    "transfer_id (admdvs inside the sender's scope)",
    { en: "Transfer between the fund's accounts (finance)", zh: '基金账户间划转（财政）' },
  ),
  single(
    '/v1/insurer-cost-reports',
    'insurer',
    'InsurerCostReport',
    'insurerCostReport',
    '(insurer_code, admdvs, fund_year) + revision',
    { en: 'Insurer yearly cost report', zh: '保险公司年度成本报告' },
  ),

  // §5 reads, runs and case handling
  {
    method: 'get',
    path: '/v1/messages/{id}',
    tag: 'Reads',
    auth: 'bearer',
    roles: 'any',
    summary: { en: 'Status of a message', zh: '消息处理状态' },
    description: 'A client sees its own messages; ops sees all.',
    responses: { 200: { description: 'The message log entry.', schema: 'MessageStatus', example: 'messageStatus' } },
    errors: READ_ERRORS,
  },
  {
    method: 'get',
    path: '/v1/settlements/{setl_id}',
    tag: 'Reads',
    auth: 'bearer',
    roles: ['agency', 'ops', 'insurer', 'institution'],
    summary: {
      en: 'A settlement with its loop state, payments and discrepancies',
      zh: '结算记录及其闭环状态、支付与差异',
    },
    responses: {
      200: {
        description: 'The record plus loop, payments and discrepancies.',
        schema: 'SettlementView',
        example: 'settlementView',
      },
    },
    errors: [...READ_ERRORS, 403],
  },
  {
    method: 'get',
    path: '/v1/settlements/{setl_id}/benefit',
    tag: 'Reads',
    auth: 'bearer',
    roles: ['agency', 'ops', 'insurer', 'institution'],
    summary: {
      en: "How the region's benefit rules give a settlement's large-expense amount",
      zh: '按地区待遇规则解释结算的大额补充支付金额',
    },
    description:
      'Expected amount, derivation per band and segment, and a step-by-step explanation (Accept-Language picks zh-CN or en). `?format=text` answers the explanation as plain text.',
    query: [
      {
        name: 'format',
        schema: { type: 'string', enum: ['json', 'text'], default: 'json' },
        description: 'json (default) or text.',
      },
    ],
    responses: {
      200: {
        description: 'The benefit check with its explanation.',
        schema: 'BenefitExplanation',
        example: 'benefitExplanation',
      },
    },
    errors: READ_ERRORS,
  },
  {
    method: 'get',
    path: '/v1/discrepancies',
    tag: 'Discrepancies',
    auth: 'bearer',
    roles: 'any',
    summary: { en: 'List discrepancies (filtered to your scope)', zh: '差异列表（按授权范围过滤）' },
    query: [
      filter('code', { type: 'string', pattern: '^[A-Z_]{3,40}$' }, 'Discrepancy code, e.g. PAYMENT_OVERDUE.'),
      filter('status', { type: 'string', enum: ['open', 'acknowledged', 'resolved'] }, 'Case status.'),
      filter('severity', { type: 'string', enum: ['low', 'medium', 'high', 'critical'] }, 'Severity.'),
      filter('admdvs', '#/components/schemas/AdmdvsPrefix', 'admdvs prefix (2–6 digits).'),
      filter('insurer_code', '#/components/schemas/InsurerCode', 'Insurer.'),
      filter('fixmedins_code', '#/components/schemas/FixmedinsCode', 'Institution.'),
      filter('period', '#/components/schemas/Period', 'Period yyyy-MM.'),
      filter('setl_id', '#/components/schemas/Id', 'Settlement.'),
      ...limitParams,
    ],
    responses: { 200: { description: 'A page.', schema: 'DiscrepancyPage', example: 'discrepancyPage' } },
    errors: [400, 401, 429],
  },
  {
    method: 'get',
    path: '/v1/discrepancies/{id}',
    tag: 'Discrepancies',
    auth: 'bearer',
    roles: 'any',
    summary: { en: 'One discrepancy with its history', zh: '单个差异及其处理记录' },
    responses: { 200: { description: 'The case.', schema: 'Discrepancy', example: 'discrepancy' } },
    errors: READ_ERRORS,
  },
  {
    method: 'post',
    path: '/v1/discrepancies/{id}/acknowledge',
    tag: 'Discrepancies',
    auth: 'operator',
    roles: ['ops', 'agency'],
    summary: { en: 'Acknowledge a discrepancy', zh: '确认差异' },
    request: { schema: 'CaseNote', example: 'caseNote', required: true },
    responses: { 200: { description: 'Acknowledged.', schema: 'Discrepancy', example: 'discrepancy' } },
    errors: [...READ_ERRORS, 403, 409, 415, 422],
  },
  {
    method: 'post',
    path: '/v1/discrepancies/{id}/resolve',
    tag: 'Discrepancies',
    auth: 'operator',
    roles: ['ops', 'agency'],
    summary: { en: 'Resolve a discrepancy manually', zh: '人工办结差异' },
    request: { schema: 'CaseNote', example: 'caseNote', required: true },
    responses: {
      200: { description: 'Resolved (resolution: manual).', schema: 'Discrepancy', example: 'discrepancy' },
    },
    errors: [...READ_ERRORS, 403, 409, 415, 422],
  },
  // §10 the parties around a case: answers on it
  {
    method: 'post',
    path: '/v1/discrepancies/{id}/comment',
    tag: 'Discrepancies',
    auth: 'operator',
    roles: ['insurer', 'institution', 'agency', 'ops'],
    summary: { en: 'Comment on a case (any party it concerns)', zh: '对差异留言（差异涉及的各方）' },
    description:
      "Spec §10. Its insurer, its institution, the agency of its region or ops; another party gets 404, as for a read. The comment is in the case's history and the audit trail, and is notified (§6) to the other side (`discrepancy.commented`).",
    request: { schema: 'CaseNote', example: 'caseNote', required: true },
    responses: { 200: { description: 'The case with its history.', schema: 'Discrepancy', example: 'discrepancy' } },
    errors: [...READ_ERRORS, 403, 415, 422],
  },
  {
    method: 'post',
    path: '/v1/discrepancies/{id}/dispute',
    tag: 'Discrepancies',
    auth: 'operator',
    roles: ['insurer', 'institution'],
    summary: { en: 'Dispute a case with a reason code and evidence', zh: '对差异提出异议（原因代码及证明材料）' },
    description:
      "Spec §10. The insurer or institution the case concerns. Reason codes D01 paid outside the exchange (线下已付), D02 under audit (审核中), D03 the agency's record is wrong (经办记录有误), D04 declared correctly (申报无误), D99 other (note required). Attachments: at most 5 MiB decoded in all, standard padded base64; stored in the same transaction as the dispute (a 200 means stored), each named by its sha256 in the audit trail. The case stays open and shows `dispute: {status: open, reason_code, note, by, at, attachments}`; 409 while a dispute is open or once the case is resolved. Notified to the agency's and ops' side (`discrepancy.disputed`).",
    request: { schema: 'CaseDisputeInput', example: 'caseDisputeInput', required: true },
    responses: { 200: { description: 'The case, with its dispute.', schema: 'Discrepancy', example: 'discrepancy' } },
    errors: [...READ_ERRORS, 403, 409, 413, 415, 422],
  },
  {
    method: 'post',
    path: '/v1/discrepancies/{id}/dispute-decision',
    tag: 'Discrepancies',
    auth: 'operator',
    roles: ['agency', 'ops'],
    summary: { en: 'Uphold or reject the open dispute of a case', zh: '处理差异异议（成立或不成立）' },
    description:
      'Spec §10. upheld: the case resolves (`resolution: manual`) with the note, and stays resolved while its cause is unchanged; rejected: it stays open and the party is told why (`discrepancy.dispute_upheld` / `discrepancy.dispute_rejected`). 409 when the case has no open dispute.',
    request: { schema: 'DisputeDecision', example: 'disputeDecision', required: true },
    responses: { 200: { description: 'The case after the decision.', schema: 'Discrepancy', example: 'discrepancy' } },
    errors: [...READ_ERRORS, 403, 409, 415, 422],
  },
  {
    method: 'get',
    path: '/v1/discrepancies/{id}/attachments/{attachment_id}',
    tag: 'Discrepancies',
    auth: 'bearer',
    roles: 'any',
    summary: { en: 'One file of a dispute (download)', zh: '下载异议证明材料' },
    description:
      'The bytes as sent, with `Content-Disposition: attachment` and a `Digest` header (sha-256). Readable by whoever may read the case.',
    responses: {
      200: {
        description: 'The file.',
        contentType: 'application/octet-stream',
        schema: { type: 'string', format: 'binary' },
      },
    },
    errors: READ_ERRORS,
  },
  {
    method: 'post',
    path: '/v1/reconciliations',
    tag: 'Reconciliation',
    auth: 'operator',
    roles: ['ops', 'agency'],
    summary: { en: 'Start a reconciliation run', zh: '发起对账' },
    request: { schema: 'ReconciliationRequest', example: 'reconciliationRequest', required: true },
    responses: { 202: { description: 'Queued.', schema: 'ReconciliationQueued', example: 'reconciliationQueued' } },
    errors: [400, 401, 403, 415, 422, 429],
  },
  {
    method: 'get',
    path: '/v1/reconciliations',
    tag: 'Reconciliation',
    auth: 'bearer',
    roles: ['agency', 'ops', 'insurer', 'institution'],
    summary: { en: 'Run history: past reconciliation runs, newest first', zh: '对账任务记录（按创建时间倒序）' },
    description:
      'Spec §10. Scoped as one run is read: ops all runs, an agency the runs of its regions, an insurer or an institution the runs with a row of its own. Items are runs without their report (summary, institutions, insurers): GET /v1/reconciliations/{run_id} gives it.',
    query: [
      filter(
        'admdvs',
        { type: 'string', pattern: '^\\d{2,6}$' },
        'Region prefix: the runs of that region and of the regions under it.',
      ),
      filter('period', '#/components/schemas/Period', 'Period yyyy-MM.'),
      filter('status', { type: 'string', enum: ['queued', 'running', 'completed', 'failed'] }, 'Run status.'),
      { name: 'limit', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, description: 'Page size.' },
      { name: 'cursor', schema: { type: 'string' }, description: 'next_cursor of the previous page (opaque).' },
    ],
    responses: {
      200: {
        description: 'A page of runs, newest first.',
        schema: {
          type: 'object',
          required: ['items', 'next_cursor'],
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/ReconciliationRun' } },
            next_cursor: { type: ['string', 'null'] },
          },
        },
      },
    },
    errors: [400, 401, 429],
  },
  {
    method: 'get',
    path: '/v1/reconciliations/{run_id}',
    tag: 'Reconciliation',
    auth: 'bearer',
    roles: ['agency', 'ops', 'insurer', 'institution'],
    summary: { en: 'A reconciliation run and its report', zh: '对账结果' },
    responses: { 200: { description: 'The run.', schema: 'ReconciliationRun', example: 'reconciliationRun' } },
    errors: READ_ERRORS,
  },
  {
    method: 'get',
    path: '/v1/reconciliations/{run_id}/export',
    tag: 'Reconciliation',
    auth: 'bearer',
    roles: ['agency', 'ops', 'insurer', 'institution'],
    summary: {
      en: 'Export a run (CSV with BOM, or XLSX; Chinese headers)',
      zh: '导出对账结果（CSV 带 BOM 或 XLSX，中文表头）',
    },
    query: [
      {
        name: 'format',
        schema: { type: 'string', enum: ['csv', 'xlsx'], default: 'csv' },
        description: 'File format.',
      },
      {
        name: 'section',
        schema: { type: 'string', enum: ['summary', 'institutions', 'insurers'], default: 'institutions' },
        description: 'CSV only: which table (XLSX has one sheet each).',
      },
    ],
    responses: {
      200: {
        description: 'The file (text/csv or application/vnd.openxmlformats-officedocument.spreadsheetml.sheet).',
        contentType: 'text/csv',
        schema: { type: 'string' },
      },
    },
    errors: READ_ERRORS,
  },
  // §10 the violation report
  {
    method: 'get',
    path: '/v1/reports/violations',
    tag: 'Reconciliation',
    auth: 'bearer',
    roles: ['agency', 'ops', 'insurer', 'institution'],
    summary: {
      en: "Violation report: insurers' rejections and recoveries per institution, reason and month",
      zh: '违规情况报告（拒付、追回，按机构、原因、月份）',
    },
    description:
      "Spec §10, 000 §5 (六). Rejections (rejected_amount with a reason code) by the month of their payment's pay_time, recoveries by the month of recovered_at (CST), per insurer, institution (of the settlement named) and reason code. " +
      'Scoped: ops all, an agency the settlements of its regions, an insurer its own findings, an institution those against it. format=csv (UTF-8 BOM, CRLF) or xlsx (sheet 违规情况): Chinese headers and a 合计 row. A bad parameter is 400 with its ?name path.',
    query: [
      filter(
        'admdvs',
        { type: 'string', pattern: '^\\d{2,6}$' },
        'Region prefix (the region of the settlement named).',
      ),
      filter('insurer_code', { type: 'string', pattern: '^[A-Z0-9_]{2,20}$' }, 'Insurer.'),
      filter('fixmedins_code', { type: 'string', pattern: '^[A-Za-z0-9_-]{1,30}$' }, 'Institution.'),
      {
        name: 'from',
        schema: { $ref: '#/components/schemas/Period' },
        description: 'First month yyyy-MM (inclusive; required).',
      },
      {
        name: 'to',
        schema: { $ref: '#/components/schemas/Period' },
        description: 'Last month yyyy-MM (inclusive, required; not before from, at most 36 months from it).',
      },
      {
        name: 'format',
        schema: { type: 'string', enum: ['json', 'csv', 'xlsx'], default: 'json' },
        description: 'Answer format.',
      },
    ],
    responses: {
      200: {
        description: 'The rows, ordered by month, insurer, institution and reason (as CSV or XLSX when asked).',
        schema: {
          type: 'object',
          required: ['from', 'to', 'items'],
          properties: {
            from: { $ref: '#/components/schemas/Period' },
            to: { $ref: '#/components/schemas/Period' },
            items: { type: 'array', items: { $ref: '#/components/schemas/ViolationRow' } },
          },
        },
      },
    },
    errors: [400, 401, 429],
  },
  // §8 the fund year: statements
  {
    method: 'post',
    path: '/v1/fund-statements',
    tag: 'Fund year',
    auth: 'operator',
    roles: ['ops', 'agency'],
    summary: { en: 'Compute a fund-year statement', zh: '生成基金年度决算' },
    description:
      'Spec §8. Queued and computed on the reconciliation queue; the four statement codes (COST_REPORT_MISSING, COST_LIMIT_EXCEEDED, PROFIT_LIMIT_EXCEEDED, FUND_DEFICIT) are synced as cases, so a recomputed statement resolves those whose cause is gone. An agency may ask only for a region inside its scope (403).',
    request: { schema: 'FundStatementRequest', example: 'fundStatementRequest', required: true },
    responses: { 202: { description: 'Queued.', schema: 'FundStatementQueued', example: 'fundStatementQueued' } },
    errors: [400, 401, 403, 415, 422, 429],
  },
  {
    method: 'get',
    path: '/v1/fund-statements',
    tag: 'Fund year',
    auth: 'bearer',
    roles: ['ops', 'agency'],
    summary: {
      en: 'The latest completed statement of each region-year, newest fund year first',
      zh: '各统筹区各基金年度最近一次完成的决算（按基金年度倒序）',
    },
    description:
      'The nightly statements and those asked for, one per region-year (the latest completed): an agency lists those of its regions; other roles 403. Items carry no figures: GET /v1/fund-statements/{statement_id} gives them.',
    query: [
      filter('admdvs', { type: 'string', pattern: '^\\d{2,6}$' }, 'Region prefix.'),
      filter('fund_year', { type: 'string', pattern: '^\\d{4}$' }, 'Fund year yyyy.'),
    ],
    responses: {
      200: {
        description: 'Up to 50 statements.',
        schema: {
          type: 'object',
          required: ['items'],
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object',
                required: ['statement_id', 'status', 'admdvs', 'fund_year', 'as_of', 'trigger', 'created_at'],
                properties: {
                  statement_id: { type: 'string', format: 'uuid' },
                  status: { type: 'string', enum: ['queued', 'running', 'completed', 'failed'] },
                  admdvs: { type: 'string' },
                  fund_year: { type: 'string' },
                  as_of: { type: 'string' },
                  known_at: { type: ['string', 'null'] },
                  trigger: { type: 'string', enum: ['api', 'nightly', 'cli'] },
                  created_at: { type: 'string' },
                  finished_at: { type: ['string', 'null'] },
                },
              },
            },
          },
        },
      },
    },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/v1/fund-statements/{statement_id}',
    tag: 'Fund year',
    auth: 'bearer',
    roles: ['ops', 'agency'],
    summary: {
      en: 'A fund-year statement: region, insurer and account figures',
      zh: '基金年度决算：地区、保险公司与账户',
    },
    description: 'An agency reads the statements of its regions only (404 outside them); other roles 403.',
    responses: {
      200: {
        description: 'The statement (figures null until completed).',
        schema: 'FundStatement',
        example: 'fundStatement',
      },
    },
    errors: [401, 403, 404, 429],
  },
  {
    method: 'get',
    path: '/v1/fund-statements/{statement_id}/export',
    tag: 'Fund year',
    auth: 'bearer',
    roles: ['ops', 'agency'],
    summary: {
      en: 'Export a statement (XLSX: 地区汇总, 保险公司, 账户; CSV one part; public disclosure)',
      zh: '导出基金年度决算（XLSX 分地区汇总、保险公司、账户；CSV 单表；公开版）',
    },
    query: [
      {
        name: 'format',
        schema: { type: 'string', enum: ['xlsx', 'csv'], default: 'xlsx' },
        description: 'File format (CSV with a UTF-8 BOM).',
      },
      {
        name: 'section',
        schema: { type: 'string', enum: ['region', 'insurers', 'accounts'], default: 'region' },
        description: 'CSV only: which part (XLSX has one sheet each).',
      },
      {
        name: 'audience',
        schema: { type: 'string', enum: ['agency', 'public'], default: 'agency' },
        description:
          '`public`: the disclosure of fund income and spending (001 art. 24) — region totals only, no insurer, institution, person or cost detail.',
      },
    ],
    responses: {
      200: {
        description: 'The file (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet or text/csv).',
        contentType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        schema: { type: 'string', format: 'binary' },
      },
    },
    errors: [400, 401, 403, 404, 429],
  },
  // Reads added beyond the spec's list
  {
    method: 'get',
    path: '/v1/messages',
    tag: 'Reads',
    auth: 'bearer',
    roles: 'any',
    summary: {
      en: 'Search the message log (your own messages; ops: all)',
      zh: '查询消息日志（本客户端；运维可查全部）',
    },
    query: [
      {
        name: 'kind',
        schema: {
          type: 'string',
          enum: [
            'agency_settlements',
            'agency_disbursement',
            'settlement_batch',
            'insurer_payment',
            'spending_plan',
            'recovery',
            'premium_collection',
            'fund_transfer',
            'insurer_cost_report',
          ],
        },
        description: 'Message kind.',
      },
      {
        name: 'status',
        schema: { type: 'string', enum: ['accepted', 'processing', 'processed', 'failed'] },
        description: 'Processing status.',
      },
      { name: 'client_id', schema: { type: 'string' }, description: 'Sender (ops only).' },
      { name: 'from', schema: { $ref: '#/components/schemas/Time' }, description: 'Received at or after.' },
      { name: 'to', schema: { $ref: '#/components/schemas/Time' }, description: 'Received before.' },
      ...limitParams,
    ],
    responses: {
      200: {
        description: 'A page of message log entries.',
        schema: {
          type: 'object',
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/MessageStatus' } },
            next_cursor: { type: ['string', 'null'] },
          },
        },
      },
    },
    errors: [400, 401, 429],
  },
  {
    method: 'get',
    path: '/v1/discrepancies/export',
    tag: 'Discrepancies',
    auth: 'bearer',
    roles: 'any',
    summary: {
      en: 'Export discrepancies (CSV with BOM, or XLSX; Chinese headers)',
      zh: '导出差异（CSV 带 BOM 或 XLSX，中文表头）',
    },
    description: 'The same filters as the list, without paging; filtered to your scope.',
    query: [
      {
        name: 'format',
        schema: { type: 'string', enum: ['csv', 'xlsx'], default: 'csv' },
        description: 'File format.',
      },
    ],
    responses: { 200: { description: 'The file.', contentType: 'text/csv', schema: { type: 'string' } } },
    errors: [400, 401, 429],
  },

  // §9 the gateway's own keys (SM2-signed deliveries)
  {
    method: 'get',
    path: '/v1/keys',
    tag: 'Notifications',
    auth: 'none',
    roles: 'any',
    summary: { en: "The gateway's public signing keys (SM2)", zh: '网关签名公钥（SM2）' },
    description:
      'Public: no credential. A subscriber with `signature: "v1sm2"` verifies the `v1sm2` entry of each delivery\'s webhook-signature with this key (SM2 with SM3, default distinguishing ID 1234567812345678).',
    responses: { 200: { description: 'The keys.', schema: 'Keys', example: 'keys' } },
    errors: [429],
  },
  // §6 outbound notifications: subscribers and deliveries
  {
    method: 'post',
    path: '/v1/subscribers',
    tag: 'Notifications',
    auth: 'operator',
    roles: ['ops', 'insurer'],
    summary: {
      en: 'Add a subscriber (URL, format, filter); its signing secret is returned once',
      zh: '新增订阅（地址、格式、过滤条件）；签名密钥仅返回一次',
    },
    request: { schema: 'SubscriberInput', example: 'subscriberInput' },
    responses: {
      201: { description: 'Created; `secret` is shown only here.', schema: 'Subscriber', example: 'subscriberCreated' },
    },
    errors: [400, 401, 403, 415, 422, 429],
  },
  {
    method: 'get',
    path: '/v1/subscribers',
    tag: 'Notifications',
    auth: 'bearer',
    roles: ['ops', 'insurer'],
    summary: { en: 'List subscribers', zh: '订阅列表' },
    responses: {
      200: {
        description: 'Your subscribers (ops: all).',
        schema: {
          type: 'object',
          properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Subscriber' } } },
        },
      },
    },
    errors: [401, 403, 429],
  },
  {
    method: 'get',
    path: '/v1/subscribers/{id}',
    tag: 'Notifications',
    auth: 'bearer',
    roles: ['ops', 'insurer'],
    summary: { en: 'One subscriber', zh: '单个订阅' },
    responses: { 200: { description: 'The subscriber.', schema: 'Subscriber', example: 'subscriber' } },
    errors: [...READ_ERRORS, 403],
  },
  {
    method: 'delete',
    path: '/v1/subscribers/{id}',
    tag: 'Notifications',
    auth: 'operator',
    roles: ['ops', 'insurer'],
    summary: { en: 'Remove a subscriber', zh: '删除订阅' },
    responses: { 204: { description: 'Removed.' } },
    errors: [...READ_ERRORS, 403],
  },
  {
    method: 'post',
    path: '/v1/subscribers/{id}/enable',
    tag: 'Notifications',
    auth: 'operator',
    roles: ['ops'],
    summary: { en: 'Re-enable a subscriber', zh: '重新启用订阅' },
    responses: { 200: { description: 'Enabled.', schema: 'Subscriber', example: 'subscriber' } },
    errors: [...READ_ERRORS, 403],
  },
  {
    method: 'post',
    path: '/v1/subscribers/{id}/test',
    tag: 'Notifications',
    auth: 'operator',
    roles: ['ops'],
    summary: { en: 'Send a test alert to a subscriber', zh: '向订阅发送测试告警' },
    description:
      'A `subscriber.test` event through the real delivery path (format, signatures including DingTalk 加签, retries, delivery log); follow it at GET /v1/deliveries/{id}.',
    responses: {
      202: {
        description: 'Queued.',
        schema: {
          type: 'object',
          properties: {
            id: { type: 'string' },
            webhook_id: { type: 'string' },
            subscriber_id: { type: 'string' },
            event_type: { const: 'subscriber.test' },
            status: { const: 'pending' },
          },
        },
      },
    },
    errors: [...READ_ERRORS, 403, 409],
  },
  {
    method: 'get',
    path: '/v1/deliveries',
    tag: 'Notifications',
    auth: 'bearer',
    roles: ['ops', 'insurer'],
    summary: { en: 'List notification deliveries', zh: '通知投递记录' },
    query: [
      { name: 'subscriber_id', schema: { type: 'string' }, description: 'One subscriber.' },
      { name: 'status', schema: { type: 'string' }, description: 'Delivery status.' },
      ...limitParams,
    ],
    responses: {
      200: {
        description: 'A page.',
        schema: {
          type: 'object',
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/Delivery' } },
            next_cursor: { type: ['string', 'null'] },
          },
        },
      },
    },
    errors: [400, 401, 403, 429],
  },
  {
    method: 'get',
    path: '/v1/deliveries/{id}',
    tag: 'Notifications',
    auth: 'bearer',
    roles: ['ops', 'insurer'],
    summary: { en: 'One delivery with its attempts', zh: '单次投递及其尝试记录' },
    responses: { 200: { description: 'The delivery.', schema: 'Delivery' } },
    errors: [...READ_ERRORS, 403],
  },
  {
    method: 'post',
    path: '/v1/deliveries/{id}/replay',
    tag: 'Notifications',
    auth: 'bearer',
    roles: ['ops'],
    summary: { en: 'Send a delivery again (same body, new webhook-id)', zh: '重新投递' },
    responses: {
      202: {
        description: 'Queued.',
        schema: {
          type: 'object',
          properties: { id: { type: 'string' }, webhook_id: { type: 'string' }, status: { const: 'pending' } },
        },
      },
    },
    errors: [...READ_ERRORS, 403, 409],
  },
  {
    method: 'post',
    path: '/v1/notifications/stop',
    tag: 'Notifications',
    auth: 'bearer',
    roles: ['ops'],
    summary: { en: 'Pause all outbound notifications', zh: '暂停全部外发通知' },
    request: { schema: 'NotificationStop', example: 'notificationStop', required: false },
    responses: { 200: { description: 'Paused.', schema: 'NotificationStatus' } },
    errors: [400, 401, 403, 415, 429],
  },
  {
    method: 'post',
    path: '/v1/notifications/resume',
    tag: 'Notifications',
    auth: 'bearer',
    roles: ['ops'],
    summary: { en: 'Resume outbound notifications', zh: '恢复外发通知' },
    responses: { 200: { description: 'Resumed.', schema: 'NotificationStatus' } },
    errors: [401, 403, 429],
  },
  {
    method: 'get',
    path: '/v1/notifications/status',
    tag: 'Notifications',
    auth: 'bearer',
    roles: ['ops'],
    summary: { en: 'Whether notifications are paused, and queue figures', zh: '通知是否暂停及队列情况' },
    responses: { 200: { description: 'Status.', schema: 'NotificationStatus' } },
    errors: [401, 403, 429],
  },

  // The operator console's session (the console pages themselves are static files)
  {
    method: 'post',
    path: '/console/session',
    tag: 'Console',
    auth: 'none',
    roles: 'any',
    summary: {
      en: 'Sign in to the console with a bearer token (sets a session cookie)',
      zh: '以令牌登录控制台（设置会话 Cookie）',
    },
    request: { schema: 'ConsoleLogin', example: 'consoleLogin' },
    responses: {
      200: {
        description: 'Signed in.',
        schema: {
          type: 'object',
          properties: {
            client_id: { type: 'string' },
            role: { type: 'string' },
            scope: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
    errors: [400, 401, 415],
  },
  {
    method: 'delete',
    path: '/console/session',
    tag: 'Console',
    auth: 'none',
    roles: 'any',
    summary: { en: 'Sign out of the console', zh: '退出控制台' },
    responses: { 204: { description: 'Signed out.' } },
    errors: [],
  },
];

/** Descriptions of the path parameters any endpoint uses. */
export const PATH_PARAMS: Record<string, { description: string; schema: Record<string, unknown> }> = {
  id: {
    description: 'The identifier the gateway returned (message_id, discrepancy id).',
    schema: { type: 'string', format: 'uuid' },
  },
  setl_id: { description: 'Settlement id (platform setl_id).', schema: { $ref: '#/components/schemas/Id' } },
  run_id: { description: 'Reconciliation run id.', schema: { type: 'string' } },
  attachment_id: {
    description: "A dispute file's id (dispute.attachments[].id).",
    schema: { type: 'string', format: 'uuid' },
  },
};
