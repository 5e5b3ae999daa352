/**
 * The bodies a subscriber receives. `json` follows the Standard Webhooks payload shape
 * `{type, timestamp, data}`; `dingtalk` and `wecom` are their robots' markdown messages, in Chinese.
 * Every format starts from `maskPersonal(event)`, so no format can forget the masking. What a party
 * may see of a case (its own rows of the evidence) is cut before, in audience.ts.
 */
import { toCstIso } from '../time';
import { maskPersonal, type MaskOptions } from './mask';

export type Format = 'json' | 'dingtalk' | 'wecom';
export const FORMATS: readonly Format[] = ['json', 'dingtalk', 'wecom'];

export interface DigestData {
  run_id?: string;
  admdvs?: string;
  period?: string;
  /** The window the digest covers: cases detected in [start, end), CST ISO. */
  window: { start: string; end: string };
  total: number;
  counts_by_code: Record<string, number>;
  counts_by_severity: Record<string, number>;
  /** Ids of the cases (GET /v1/discrepancies/{id}); at most DIGEST_MAX_IDS, `truncated` beyond. */
  discrepancy_ids: string[];
  truncated: boolean;
}

/** A test alert ops send from the console to see that a channel works (POST /v1/subscribers/{id}/test). */
export interface TestAlertData {
  subscriber_id: string;
  requested_by: string;
  note: string;
}

/** A step on a case by one side, told to the other (spec §10): a comment, a dispute, a decision on it. */
export type CaseStepType =
  'discrepancy.commented' | 'discrepancy.disputed' | 'discrepancy.dispute_rejected' | 'discrepancy.dispute_upheld';

export type NotificationEvent =
  | { type: CaseStepType; at: Date; data: Record<string, unknown> }
  | { type: 'discrepancy.critical'; at: Date; data: Record<string, unknown> }
  | { type: 'discrepancy.digest'; at: Date; data: DigestData }
  | { type: 'subscriber.test'; at: Date; data: TestAlertData };

const SEVERITY_ZH: Record<string, string> = { critical: '严重', high: '高', medium: '中', low: '低' };

/** The exact body text for one subscriber (`mask`: how its audience sees subject keys, mask.ts). */
export function render(format: Format, event: NotificationEvent, mask: MaskOptions = {}): string {
  const safe = { ...event, data: maskPersonal(event.data, mask) } as NotificationEvent;
  switch (format) {
    case 'json':
      return JSON.stringify({ type: safe.type, timestamp: toCstIso(safe.at), data: safe.data });
    case 'dingtalk': {
      const { title, text } = markdown(safe);
      return JSON.stringify({ msgtype: 'markdown', markdown: { title, text } });
    }
    case 'wecom':
      return JSON.stringify({ msgtype: 'markdown', markdown: { content: markdown(safe).text } });
  }
}

function markdown(e: NotificationEvent): { title: string; text: string } {
  if (e.type === 'subscriber.test') return testMarkdown(e.data, e.at);
  if (e.type !== 'discrepancy.critical' && e.type !== 'discrepancy.digest') return stepMarkdown(e.type, e.data);
  return e.type === 'discrepancy.critical' ? criticalMarkdown(e.data) : digestMarkdown(e.data);
}

function criticalMarkdown(d: Record<string, unknown>): { title: string; text: string } {
  const row = (label: string, v: unknown) =>
    v === undefined || v === null || v === '' ? [] : [`- ${label}：${String(v)}`];
  const title = `【严重差异】${String(d.code)}`;
  const lines = [
    `### ${title}`,
    ...row('差异编号', d.id),
    ...row('严重程度', SEVERITY_ZH[String(d.severity)] ?? d.severity),
    ...row('统筹区', d.admdvs),
    ...row('保险公司', d.insurer_code),
    ...row('定点医药机构', d.fixmedins_code),
    ...row('结算ID', d.setl_id),
    ...row('期间', d.period),
    ...row('应付金额', d.expected_amount),
    ...row('实际金额', d.actual_amount),
    ...row('差额', d.difference),
    ...row('说明', d.detail),
    ...row('发现时间', d.detected_at),
  ];
  return { title, text: lines.join('\n') };
}

const STEP_ZH: Record<CaseStepType, string> = {
  'discrepancy.commented': '差异留言',
  'discrepancy.disputed': '差异异议',
  'discrepancy.dispute_rejected': '异议未被采纳',
  'discrepancy.dispute_upheld': '异议成立，差异已办结',
};

function stepMarkdown(type: CaseStepType, d: Record<string, unknown>): { title: string; text: string } {
  const row = (label: string, v: unknown) =>
    v === undefined || v === null || v === '' ? [] : [`- ${label}：${String(v)}`];
  const s = (d.step ?? {}) as Record<string, unknown>;
  const files = Array.isArray(s.attachments)
    ? (s.attachments as { filename?: string }[]).map((a) => a.filename).join('、')
    : '';
  const title = `【${STEP_ZH[type]}】${String(d.code)}`;
  const lines = [
    `### ${title}`,
    ...row('差异编号', d.id),
    ...row('保险公司', d.insurer_code),
    ...row('定点医药机构', d.fixmedins_code),
    ...row('结算ID', d.setl_id),
    ...row('期间', d.period),
    ...row('差额', d.difference),
    ...row('操作方', s.by),
    ...row('异议原因', s.reason_code ? `${String(s.reason_code)} ${String(s.reason ?? '')}`.trim() : ''),
    ...row('说明', s.note),
    ...row('附件', files),
    ...row('时间', s.at),
  ];
  return { title, text: lines.join('\n') };
}

function testMarkdown(d: TestAlertData, at: Date): { title: string; text: string } {
  const title = '【测试告警】大额补充保险数据交换网关';
  const lines = [
    `### ${title}`,
    `- 订阅编号：${d.subscriber_id}`,
    `- 发起人：${d.requested_by}`,
    `- 发送时间：${toCstIso(at)}`,
    `- 说明：${d.note}`,
  ];
  return { title, text: lines.join('\n') };
}

function digestMarkdown(d: DigestData): { title: string; text: string } {
  const title = `差异汇总：新增 ${d.total} 条`;
  const scope = [
    d.admdvs ? `统筹区 ${d.admdvs}` : '',
    d.period ? `期间 ${d.period}` : '',
    d.run_id ? `对账批次 ${d.run_id}` : '',
  ]
    .filter(Boolean)
    .join('，');
  const lines = [
    `### ${title}`,
    `- 时间窗口：${d.window.start} 至 ${d.window.end}`,
    ...(scope ? [`- 范围：${scope}`] : []),
    '',
    '#### 按差异代码',
    ...Object.entries(d.counts_by_code).map(([code, n]) => `- ${code}：${n} 条`),
    '',
    '#### 按严重程度',
    ...Object.entries(d.counts_by_severity).map(([s, n]) => `- ${SEVERITY_ZH[s] ?? s}：${n} 条`),
    '',
    '#### 差异编号',
    ...d.discrepancy_ids.map((id) => `- ${id}`),
    ...(d.truncated ? [`- ……（另有 ${d.total - d.discrepancy_ids.length} 条，请在网关中查询）`] : []),
  ];
  return { title, text: lines.join('\n') };
}
