/*
 * The ops console. Plain JavaScript, no build step: it calls the gateway's /v1 API with the bearer
 * token the operator pasted in (kept in sessionStorage, so it dies with the tab). Every value from
 * the API is put on the page with textContent, never as HTML. Personal data appears only as the API
 * returns it (masked for every role but the agency).
 */
(function () {
  'use strict';

  // ---------------------------------------------------------------- labels (中文 / English)
  const T = {
    title: ['运维控制台 · 大额补充保险数据交换网关', 'Ops console · HIFOB exchange gateway'],
    logout: ['退出', 'Log out'],
    login_title: ['登录', 'Log in'],
    login_help: ['粘贴网关发给您的访问令牌（Bearer token）。令牌只保存在本浏览器标签页中。', 'Paste the access (bearer) token the gateway issued to you. It is kept in this browser tab only.'],
    token: ['访问令牌', 'Access token'],
    login: ['登录', 'Log in'],
    login_failed: ['令牌无效', 'Unknown token'],
    tab_discrepancies: ['差异', 'Discrepancies'],
    tab_settlement: ['结算', 'Settlement'],
    tab_reconciliation: ['对账', 'Reconciliation'],
    tab_messages: ['消息', 'Messages'],
    tab_queues: ['队列', 'Queues'],
    tab_subscribers: ['订阅', 'Subscribers'],
    f_code: ['差异类型', 'Code'], f_severity: ['严重程度', 'Severity'], f_status: ['状态', 'Status'], f_admdvs: ['统筹区', 'Region (admdvs)'],
    f_insurer: ['保险公司', 'Insurer'], f_institution: ['医疗机构', 'Institution'], f_period: ['期间', 'Period'],
    any: ['（全部）', '(any)'],
    search: ['查询', 'Search'], reset: ['重置', 'Reset'], more: ['加载更多', 'Load more'], open: ['打开', 'Open'], start: ['开始', 'Start'],
    no_rows: ['没有记录', 'Nothing found'],
    detected_at: ['发现时间', 'Detected'], updated_at: ['更新时间', 'Updated'], resolved_at: ['办结时间', 'Resolved'],
    code: ['类型', 'Code'], severity: ['严重程度', 'Severity'], status: ['状态', 'Status'], resolution: ['办结方式', 'Resolution'],
    admdvs: ['统筹区', 'Region'], insurer_code: ['保险公司', 'Insurer'], fixmedins_code: ['医疗机构', 'Institution'], period: ['期间', 'Period'],
    setl_id: ['结算 ID', 'Settlement id'], subject_key: ['对象', 'Subject'], expected_amount: ['应为', 'Expected'], actual_amount: ['实际', 'Actual'],
    difference: ['差额', 'Difference'], detail: ['说明', 'Detail'], occurrences: ['出现次数', 'Occurrences'], reopens: ['重开自', 'Reopens'], note: ['备注', 'Note'],
    evidence: ['证据', 'Evidence'], history: ['处理记录', 'History'], at: ['时间', 'Time'], action: ['操作', 'Action'], actor: ['操作人', 'Actor'],
    case_note: ['处理备注（必填）', 'Note (required)'], acknowledge: ['确认', 'Acknowledge'], resolve: ['办结', 'Resolve'],
    note_required: ['请填写备注', 'Please write a note'], done_ack: ['已确认', 'Acknowledged'], done_resolve: ['已办结', 'Resolved'],
    open_settlement: ['查看结算', 'Open settlement'],
    loop: ['闭环状态', 'Loop'], owed: ['应付', 'Owed'], paid: ['已付', 'Paid'], rejected: ['拒付', 'Rejected'], recovered: ['追回', 'Recovered'],
    outstanding: ['未付', 'Outstanding'], due_at: ['应付截止', 'Due'], closed_at: ['闭环时间', 'Closed'],
    record: ['结算记录', 'Record'], payments: ['支付明细', 'Payments'], recoveries: ['追回', 'Recoveries'], discrepancies: ['差异', 'Discrepancies'],
    benefit: ['待遇计算', 'Benefit derivation'], timeline: ['历程', 'History'], event: ['事件', 'Event'],
    ev_received: ['收到结算记录', 'Record received'], ev_reversed: ['收到冲正', 'Reversal received'], ev_paid: ['支付', 'Payment'],
    ev_recovered: ['追回', 'Recovery'], ev_detected: ['发现差异', 'Discrepancy detected'], ev_resolved: ['差异办结', 'Discrepancy resolved'],
    ev_due: ['应付截止', 'Due'], ev_closed: ['闭环', 'Closed'],
    run_start: ['发起对账', 'Start a reconciliation run'], run_open: ['打开对账结果', 'Open a run'], run_id: ['任务 ID', 'Run id'],
    runs_history: ['对账任务记录', 'Past runs'], as_of: ['截至时间', 'As of'], known_at: ['数据截至（接收时间）', 'Known at'], trigger: ['触发方式', 'Trigger'],
    created_at: ['创建时间', 'Created'], finished_at: ['完成时间', 'Finished'], summary: ['汇总', 'Summary'], institutions: ['医疗机构', 'Institutions'],
    insurers: ['保险公司', 'Insurers'], chart: ['各医疗机构应付 / 已付 / 拒付 / 未付', 'Owed / paid / rejected / outstanding per institution'],
    ageing_chart: ['各保险公司应支未支账龄（逾期工作日）', 'Arrears by age per insurer (working days past due)'],
    not_due: ['未到期', 'Not yet due'], d1_10: ['逾期1–10个工作日', '1–10 working days overdue'], d11_30: ['逾期11–30个工作日', '11–30 working days overdue'],
    d31_60: ['逾期31–60个工作日', '31–60 working days overdue'], over_60: ['逾期60个工作日以上', 'Over 60 working days overdue'],
    declared_cnt: ['申报笔数', 'Declared'], declared_hifob: ['申报金额', 'Declared amount'], recorded_cnt: ['登记笔数', 'Recorded'],
    recorded_hifob: ['应付（登记金额）', 'Owed (recorded)'], balanced: ['申报一致', 'Balanced'], planned: ['计划', 'Planned'], disbursed: ['拨付', 'Disbursed'],
    export_csv: ['导出 CSV', 'Export CSV'], export_xlsx: ['导出 Excel', 'Export XLSX'], downloaded: ['已下载', 'Downloaded'],
    run_waiting: ['对账运行中，完成后自动刷新…', 'Running; the report appears when it completes…'], run_failed: ['对账失败', 'The run failed'],
    yes: ['是', 'yes'], no: ['否', 'no'],
    m_kind: ['消息类型', 'Kind'], m_client: ['发送方', 'Client'], m_from: ['接收时间自', 'Received from'], m_to: ['接收时间至', 'Received before'],
    message_id: ['消息 ID', 'Message id'], kind: ['类型', 'Kind'], client_id: ['发送方', 'Client'], received_at: ['接收时间', 'Received'],
    processed_at: ['处理时间', 'Processed'], record_count: ['记录数', 'Records'], error_count: ['错误数', 'Errors'], errors: ['错误', 'Errors'],
    queues_title: ['任务队列（bull-board）', 'Job queues (bull-board)'], queues_help: ['仅限运维角色。登录时浏览器已获得队列面板的会话 Cookie。', 'Ops only. Logging in gave this browser the queue board\'s session cookie.'],
    queues_open: ['打开队列面板', 'Open the queue board'],
    not_found: ['未找到', 'Not found'],
    tab_fund: ['基金年度', 'Fund year'], fund_start: ['生成基金年度决算', 'Compute a fund-year statement'], fund_year: ['基金年度', 'Fund year'],
    opening_balance: ['上年滚存结余', 'Opening balance'], closing_balance: ['年末滚存结余', 'Closing balance'], premiums_collected: ['征收保费', 'Premiums collected'],
    late_fees: ['滞纳金', 'Late fees'], insured_count: ['参保人数', 'Insured'], received_special_account: ['财政专户收到', 'Received in the special account'],
    disbursed_to_insurers: ['拨付保险公司', 'Disbursed to insurers'], compliant_payouts: ['合规赔付', 'Compliant payouts'], non_compliant_payouts: ['不合规赔付', 'Non-compliant payouts'],
    allowed_admin_costs: ['准予列支经办费用', 'Allowed admin costs'], premium_income: ['保费收入', 'Premium income'], operating_cost: ['运营成本', 'Operating cost'],
    admin_cost: ['经办费用', 'Admin cost'], operating_cost_ratio: ['运营成本率%', 'Operating cost %'], admin_cost_ratio: ['经办费用率%', 'Admin cost %'],
    profit: ['利润', 'Profit'], profit_rate: ['利润率%', 'Profit rate %'], excess_profit: ['超额利润', 'Excess profit'], deficit_policy: ['政策性亏损', 'Policy deficit'],
    deficit_non_policy: ['非政策性亏损', 'Non-policy deficit'], accounts: ['账户', 'Accounts'], account: ['账户', 'Account'], received: ['收到', 'Received'],
    passed_on: ['转出', 'Passed on'], balance: ['余额', 'Balance'], export_public: ['导出公开版', 'Export public disclosure'],
    fund_waiting: ['决算计算中，完成后自动刷新…', 'Computing; the statement appears when it completes…'],
    fund_history: ['已完成的决算', 'Completed statements'], statement_id: ['决算 ID', 'Statement id'],
    summary_all: ['完整汇总', 'Full summary'], balanced_institutions: ['申报一致的机构', 'Balanced institutions'],
    id: ['ID', 'id'], mdtrt_id: ['就诊 ID', 'Visit id'], psn_no: ['人员编号', 'Person no.'], psn_name: ['姓名', 'Name'], certno: ['证件号码', 'ID number'],
    insuplc_admdvs: ['参保地统筹区', 'Pooling region'], med_type: ['医疗类别', 'Medical type'], setl_mode: ['结算方式', 'Settlement mode'],
    setl_time: ['结算时间', 'Settled at'], medfee_sumamt: ['医疗费总额', 'Total medical cost'], hifp_pay: ['基本统筹支付', 'Basic fund paid'],
    hifob_pay: ['大额补充支付', 'Large-expense amount'], pay_time: ['支付时间', 'Paid at'], payment_id: ['支付单号', 'Payment id'], payee_id: ['收款方', 'Payee'],
    reject_reason_code: ['拒付原因', 'Reject reason'], recovery_id: ['追回单号', 'Recovery id'],
    sub_add_title: ['新增订阅', 'Add a subscriber'], sub_url: ['推送地址（Webhook）', 'Webhook URL'], sub_format: ['格式', 'Format'],
    sub_robot_secret: ['加签密钥（SEC 开头，可选）', 'Signing secret of the robot (SEC…, optional)'], sub_codes: ['差异类型（逗号分隔，可选）', 'Codes (comma-separated, optional)'],
    sub_description: ['说明', 'Description'], sub_add: ['添加', 'Add'], sub_added: ['订阅已添加', 'Subscriber added'],
    sub_secret_once: ['签名密钥（webhook-signature，仅显示这一次）：', 'Signing secret (webhook-signature; shown this once only): '],
    format: ['格式', 'Format'], url: ['地址', 'URL'], enabled: ['启用', 'Enabled'], robot_secret_set: ['加签', 'Signed (加签)'], filter: ['过滤条件', 'Filter'],
    send_test: ['发送测试', 'Send a test'], test_alert: ['测试告警', 'Test alert'], webhook_id: ['投递 ID', 'Delivery id'], attempts: ['尝试次数', 'Attempts'],
    last_error: ['错误', 'Error'], delivered_at: ['送达时间', 'Delivered'],
    test_waiting: ['等待送达…', 'Waiting for delivery…'], test_delivered: ['已送达：对方已接收测试告警', 'Delivered: the receiver accepted the test alert'],
    test_failed: ['未送达', 'Not delivered'],
    subscriber_id: ['订阅编号', 'Subscriber'],
    title_party: ['控制台 · 大额补充保险数据交换网关', 'Console · HIFOB exchange gateway'],
    dispute: ['异议', 'Dispute'], dispute_title: ['提出异议', 'Dispute this case'], reason_code: ['异议原因', 'Reason'],
    dispute_note: ['异议说明（D99 必填）', 'Note (required with D99)'], dispute_files: ['证明材料（合计不超过 5 MiB）', 'Evidence (5 MiB in all)'],
    dispute_submit: ['提交异议', 'Submit the dispute'], disputed_done: ['异议已提交', 'Dispute submitted'],
    comment: ['留言', 'Comment'], comment_note: ['留言内容', 'Your comment'], comment_submit: ['留言', 'Post comment'], commented_done: ['留言已提交', 'Comment posted'],
    decision_note: ['处理意见（必填，将告知异议方）', 'Decision note (required; the party is told)'], uphold: ['异议成立（办结）', 'Uphold (resolve)'],
    reject: ['异议不成立', 'Reject'], decided_done: ['已处理异议', 'Dispute decided'], files_too_large: ['证明材料合计超过 5 MiB', 'The files exceed 5 MiB in all'],
    by: ['提出方', 'By'], decided_by: ['处理人', 'Decided by'], decided_at: ['处理时间', 'Decided at'], attachments: ['证明材料', 'Evidence'],
  };
  const REASONS = { D01: ['线下已付', 'paid outside the exchange'], D02: ['审核中', 'under audit'], D03: ['经办记录有误', 'agency record wrong'], D04: ['申报无误', 'declared correctly'], D99: ['其他', 'other'] };
  const MAX_FILES_BYTES = 5 * 1024 * 1024;
  const CODES = {
    PAYMENT_OVERDUE: ['应支未支', 'payment overdue'], PAID_LATE: ['逾期支付', 'paid late'], UNDERPAID: ['少付', 'underpaid'], OVERPAID: ['多付', 'overpaid'],
    DUPLICATE_PAYMENT: ['重复支付', 'duplicate payment'], UNKNOWN_SETTLEMENT: ['未知结算', 'unknown settlement'], REVERSED_SETTLEMENT_PAID: ['已冲正仍支付', 'reversed but paid'],
    PAYEE_MISMATCH: ['收款方不符', 'payee mismatch'], INSURER_MISMATCH: ['保险公司不符', 'insurer mismatch'], DECLARED_NOT_RECORDED: ['申报未登记', 'declared, not recorded'],
    DECLARED_AMOUNT_MISMATCH: ['申报金额不符', 'declared amount mismatch'], RECORDED_NOT_DECLARED: ['登记未申报', 'recorded, not declared'],
    DECLARATION_MISSING: ['未按期申报', 'declaration missing'], BENEFIT_RULE_DEVIATION: ['待遇计算偏差', 'benefit rule deviation'],
    ANNUAL_CAP_EXCEEDED: ['超年度限额', 'annual cap exceeded'], OVER_REIMBURSEMENT: ['超费用报销', 'over-reimbursement'],
    DUPLICATE_REIMBURSEMENT: ['重复报销', 'duplicate reimbursement'], PLAN_VARIANCE: ['支出计划偏差', 'plan variance'], DISBURSEMENT_MISMATCH: ['拨付不符', 'disbursement mismatch'],
    PREMIUM_TRANSFER_SHORT: ['保费未足额划转', 'premium transfer short'], TRANSFER_UNFUNDED: ['无来源划出', 'transfer unfunded'],
    PREMIUM_RATE_MISMATCH: ['缴费标准不符', 'premium rate mismatch'],
    COST_REPORT_MISSING: ['成本报告缺失', 'cost report missing'], COST_LIMIT_EXCEEDED: ['成本超限', 'cost limit exceeded'],
    PROFIT_LIMIT_EXCEEDED: ['利润超限', 'profit limit exceeded'], FUND_DEFICIT: ['基金亏损', 'fund deficit'],
  };
  const ENUMS = {
    severity: { low: ['低', 'low'], medium: ['中', 'medium'], high: ['高', 'high'], critical: ['严重', 'critical'] },
    status: { open: ['待处理', 'open'], acknowledged: ['已确认', 'acknowledged'], resolved: ['已办结', 'resolved'] },
    resolution: { auto: ['自动', 'automatic'], manual: ['人工', 'manual'] },
    loop: { owed: ['待支付', 'owed'], closed: ['已闭环', 'closed'], overdue: ['逾期', 'overdue'], reversed: ['已冲正', 'reversed'], not_owed: ['无需支付', 'not owed'] },
    run: { queued: ['排队中', 'queued'], running: ['运行中', 'running'], completed: ['已完成', 'completed'], failed: ['失败', 'failed'] },
    trigger: { api: ['手动', 'asked for'], nightly: ['夜间', 'nightly'], cli: ['命令行', 'command line'] },
    msg: { accepted: ['已受理', 'accepted'], processing: ['处理中', 'processing'], processed: ['已处理', 'processed'], failed: ['失败', 'failed'] },
    delivery: { pending: ['待发送', 'pending'], sending: ['发送中', 'sending'], failed: ['失败，将重试', 'failed, will retry'], delivered: ['已送达', 'delivered'], dead: ['放弃', 'dead'], cancelled: ['已取消', 'cancelled'] },
    kind: {
      agency_settlements: ['经办机构结算数据', 'agency settlements'], agency_disbursement: ['经办机构拨付', 'agency disbursement'],
      settlement_batch: ['医疗机构结算申报', 'settlement batch'], insurer_payment: ['保险公司支付', 'insurer payment'],
      spending_plan: ['支出计划', 'spending plan'], recovery: ['追回', 'recovery'],
    },
    action: {
      opened: ['发现', 'opened'], updated: ['更新', 'updated'], resolved: ['办结', 'resolved'], acknowledged: ['确认', 'acknowledged'], reopened: ['重开', 'reopened'], acknowledge: ['确认', 'acknowledge'], resolve: ['办结', 'resolve'],
      auto_resolved: ['自动办结', 'auto-resolved'], commented: ['留言', 'commented'], disputed: ['提出异议', 'disputed'], dispute_rejected: ['异议不成立', 'dispute rejected'], dispute_upheld: ['异议成立', 'dispute upheld'],
    },
    dispute: { open: ['异议处理中', 'disputed'], upheld: ['异议成立', 'upheld'], rejected: ['异议不成立', 'rejected'] },
  };

  const store = { get: (k) => sessionStorage.getItem(k), set: (k, v) => sessionStorage.setItem(k, v), del: (k) => sessionStorage.removeItem(k) };
  const state = {
    lang: localStorage.getItem('console.lang') === 'en' ? 'en' : 'zh',
    token: store.get('console.token'),
    me: JSON.parse(store.get('console.me') || 'null'),
    tab: 'discrepancies',
    disc: { items: [], next: null, query: '', selected: null, detail: null },
    setl: null, benefit: null,
    run: null, runs: [], runsNext: null, runsLoaded: false, chart: null, ageingChart: null, poll: null,
    subs: { items: [], loaded: false, created: null, test: null, poll: null },
    msg: { items: [], next: null, query: '', detail: null },
  };
  const L = () => (state.lang === 'zh' ? 0 : 1);
  const t = (k) => (T[k] ? T[k][L()] : k);
  const en = (group, v) => (ENUMS[group] && ENUMS[group][v] ? ENUMS[group][v][L()] : v);
  const codeLabel = (c) => (CODES[c] ? `${c} · ${CODES[c][L()]}` : c);

  // ---------------------------------------------------------------- DOM helpers
  const $ = (sel) => document.querySelector(sel);
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }
  /** replaceChildren without the nulls of optional sections (the DOM would print them as "null"). */
  const fill = (box, ...nodes) => box.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
  const badge = (group, v) => h('span', { class: `badge ${v}`, text: en(group, v) });
  const isAmount = (k) => /(_amount|_hifob|^owed$|^paid$|^rejected$|^recovered$|^outstanding$|^planned$|^disbursed$|difference|_sumamt|_pay$|^amount$)/.test(k);

  function table(columns, rows, opts = {}) {
    const thead = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : undefined, text: c.label || t(c.key) }))));
    const tbody = h('tbody', {}, rows.map((r, i) => {
      const tr = h('tr', { class: opts.onRow ? 'clickable' : undefined, 'data-id': opts.idOf ? opts.idOf(r) : undefined },
        columns.map((c) => { const v = c.render ? c.render(r) : r[c.key]; return h('td', { class: c.num ? 'num' : undefined }, v === undefined || v === null ? '' : v); }));
      if (opts.onRow) tr.addEventListener('click', () => opts.onRow(r, i, tr));
      return tr;
    }));
    return h('table', { class: 'grid' }, thead, tbody);
  }
  function fillTable(id, columns, rows, opts) {
    const fresh = table(columns, rows, opts);
    fresh.id = id;
    $(`#${id}`).replaceWith(fresh);
  }
  function kv(obj, keys) {
    return h('dl', { class: 'kv' }, keys.filter((k) => obj[k] !== undefined && obj[k] !== null).flatMap((k) => [h('dt', { text: t(k) }), h('dd', {}, typeof obj[k] === 'object' ? JSON.stringify(obj[k]) : String(obj[k]))]));
  }
  function flash(msg, kind) {
    const f = $('#flash');
    f.textContent = msg;
    f.className = `flash${kind === 'info' ? ' info' : ''}`;
    f.hidden = !msg;
  }

  // ---------------------------------------------------------------- API
  class ApiError extends Error { constructor(status, body) { super(body && body.detail ? body.detail : `HTTP ${status}`); this.status = status; this.body = body; } }
  async function api(path, opts = {}) {
    const headers = { Authorization: `Bearer ${state.token}`, 'Accept-Language': state.lang === 'zh' ? 'zh-CN' : 'en', ...(opts.json !== undefined ? { 'Content-Type': 'application/json' } : {}) };
    const res = await fetch(path, { method: opts.method || 'GET', headers, body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined });
    if (res.status === 401) { logout(); throw new ApiError(401, { detail: t('login_failed') }); }
    const type = res.headers.get('content-type') || '';
    const body = type.includes('json') ? await res.json() : await res.text();
    if (!res.ok) throw new ApiError(res.status, body);
    return { status: res.status, body };
  }
  const problem = (e) => { flash(e instanceof ApiError ? `${e.status}: ${e.message}` : String(e && e.message ? e.message : e)); };
  const qs = (form) => { const p = new URLSearchParams(); for (const [k, v] of new FormData(form)) if (String(v).trim()) p.set(k, String(v).trim()); return p; };

  // ---------------------------------------------------------------- login
  async function login(token) {
    const res = await fetch('/console/session', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }), credentials: 'same-origin' });
    if (!res.ok) throw new Error(t('login_failed'));
    state.token = token;
    state.me = await res.json();
    store.set('console.token', token);
    store.set('console.me', JSON.stringify(state.me));
  }
  function logout() {
    state.token = null; state.me = null;
    // What one login read is not shown to the next (another client, another scope).
    state.runs = []; state.runsNext = null; state.runsLoaded = false; state.run = null;
    state.disc = { items: [], next: null, query: '', selected: null, detail: null };
    state.setl = null; state.benefit = null;
    state.msg = { items: [], next: null, query: '', detail: null };
    // The filters typed for one login are not the next one's (set directly: a form reset would search).
    for (const f of ['#disc-filters', '#msg-filters', '#setl-form', '#run-open-form']) for (const el of $(f).elements) if (el.name) el.value = '';
    renderDiscrepancies(); renderCase(); renderSettlement(); renderMessages(); renderMessage();
    clearTimeout(state.subs.poll);
    state.subs = { items: [], loaded: false, created: null, test: null, poll: null };
    renderRun(); renderRunList(); renderSubscribers(); renderTest();
    // Nor its fund-year statement (another agency may log in next), its last message, its tab.
    clearTimeout(state.fundPoll); state.fund = null; $('#fund-list').replaceChildren();
    for (const el of $('#fund-form').elements) if (el.name) el.value = '';
    renderFund(); flash(''); state.tab = 'discrepancies';
    store.del('console.token'); store.del('console.me');
    void fetch('/console/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => undefined);
    showApp();
  }
  function showApp() {
    const inside = !!state.token;
    $('#login').hidden = inside; $('#main').hidden = !inside; $('#logout').hidden = !inside; $('#who').hidden = !inside;
    if (inside) {
      $('#who').textContent = `${state.me ? state.me.client_id : ''} (${state.me ? state.me.role : ''})`;
      const role = state.me ? state.me.role : '';
      $('#tab-queues').querySelector('.card').hidden = role !== 'ops';
      // An insurer or institution sees its own data through the API with its own token; the page
      // offers only what its role may do (the API refuses the rest anyway).
      $('.tabs button[data-tab="queues"]').hidden = role !== 'ops';
      $('#run-form').hidden = !(role === 'ops' || role === 'agency');
      // Fund-year statements are the agency's and ops' (spec §8; the API answers 403 to other roles).
      $('.tabs button[data-tab="fund"]').hidden = !(role === 'ops' || role === 'agency');
      // Tax and finance read their region's premium chain cases and their own messages only (spec §8):
      // no settlement, no run (the API answers 403).
      const chainOnly = role === 'tax' || role === 'finance';
      $('.tabs button[data-tab="settlement"]').hidden = chainOnly;
      $('.tabs button[data-tab="reconciliation"]').hidden = chainOnly;
      document.body.dataset.role = role;
      document.title = role === 'ops' ? t('title') : t('title_party');
      $('h1[data-i18n]').textContent = role === 'ops' || !role ? t('title') : t('title_party');
      // Subscribers are ops' channels and insurers' own callbacks (the API answers 403 to other roles).
      const subscribersTab = $('.tabs button[data-tab="subscribers"]');
      subscribersTab.hidden = !(state.me && (state.me.role === 'ops' || state.me.role === 'insurer'));
      const hiddenTab = $(`.tabs button[data-tab="${state.tab}"]`);
      selectTab(hiddenTab && hiddenTab.hidden ? 'discrepancies' : state.tab);
    }
  }

  // ---------------------------------------------------------------- tabs and language
  function selectTab(name) {
    state.tab = name;
    for (const b of document.querySelectorAll('.tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === name));
    for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== `tab-${name}`;
    if (name === 'discrepancies' && !state.disc.loaded) void searchDiscrepancies(false);
    if (name === 'messages' && !state.msg.loaded) void searchMessages(false);
    if (name === 'reconciliation' && !state.runsLoaded) void loadRuns(false);
    if (name === 'fund') void loadFundStatements();
    if (name === 'subscribers') void loadSubscribers();
  }
  function options(select, group, values, labelOf) {
    const current = select.value;
    select.replaceChildren(h('option', { value: '', text: t('any') }), ...values.map((v) => h('option', { value: v, text: labelOf ? labelOf(v) : en(group, v) })));
    select.value = current;
  }
  function applyLanguage() {
    document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
    const party = state.me && state.me.role && state.me.role !== 'ops';
    document.title = party ? t('title_party') : t('title');
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    if (party) $('h1[data-i18n]').textContent = t('title_party');
    $('#lang-toggle').textContent = state.lang === 'zh' ? 'English' : '中文';
    options($('#f-code'), null, Object.keys(CODES), codeLabel);
    options($('#f-severity'), 'severity', Object.keys(ENUMS.severity));
    options($('#f-status'), 'status', Object.keys(ENUMS.status));
    options($('#m-kind'), 'kind', Object.keys(ENUMS.kind));
    options($('#m-status'), 'msg', Object.keys(ENUMS.msg));
    renderDiscrepancies(); renderCase(); renderSettlement(); renderRun(); renderRunList(); renderMessages(); renderMessage(); renderSubscribers(); renderTest();
  }

  // ---------------------------------------------------------------- discrepancies
  async function searchDiscrepancies(more) {
    try {
      state.disc.loaded = true;
      if (!more) state.disc.query = qs($('#disc-filters')).toString();
      const p = new URLSearchParams(state.disc.query);
      p.set('limit', '50');
      if (more && state.disc.next) p.set('cursor', state.disc.next);
      const { body } = await api(`/v1/discrepancies?${p}`);
      state.disc.items = more ? state.disc.items.concat(body.items) : body.items;
      state.disc.next = body.next_cursor;
      flash('');
      renderDiscrepancies();
    } catch (e) { problem(e); }
  }
  function renderDiscrepancies() {
    const d = state.disc;
    fillTable('disc-table', [
      { key: 'detected_at', render: (r) => r.detected_at.replace('T', ' ').slice(0, 16) },
      { key: 'code', render: (r) => h('span', { title: codeLabel(r.code), text: state.lang === 'zh' && CODES[r.code] ? CODES[r.code][0] : r.code }) },
      { key: 'severity', render: (r) => badge('severity', r.severity) },
      { key: 'status', render: (r) => badge('status', r.status) },
      { key: 'admdvs' }, { key: 'insurer_code' }, { key: 'fixmedins_code' }, { key: 'period' }, { key: 'setl_id' },
      { key: 'difference', num: true },
    ], d.items, { idOf: (r) => r.id, onRow: (r) => openCase(r.id) });
    for (const tr of document.querySelectorAll('#disc-table tbody tr')) tr.classList.toggle('selected', tr.dataset.id === d.selected);
    $('#disc-empty').hidden = d.items.length > 0 || !d.loaded;
    $('#disc-more').hidden = !d.next;
  }
  async function openCase(id) {
    try {
      state.disc.selected = id;
      const { body } = await api(`/v1/discrepancies/${encodeURIComponent(id)}`);
      state.disc.detail = body;
      renderDiscrepancies(); renderCase();
    } catch (e) { problem(e); }
  }
  function renderCase() {
    const box = $('#disc-detail');
    const c = state.disc.detail;
    box.hidden = !c;
    if (!c) return;
    const role = state.me ? state.me.role : '';
    const authority = role === 'ops' || role === 'agency';
    const party = role === 'insurer' || role === 'institution';
    const canAct = authority && c.status !== 'resolved';
    const note = h('textarea', { id: 'case-note', maxlength: '2000', placeholder: t('case_note') });
    const refresh = async (done) => {
      flash(t(done), 'info');
      await openCase(c.id);
      const i = state.disc.items.findIndex((x) => x.id === c.id);
      if (i >= 0) { state.disc.items[i] = { ...state.disc.items[i], status: state.disc.detail.status }; renderDiscrepancies(); }
    };
    const act = async (action) => {
      if (!note.value.trim()) { flash(t('note_required')); return; }
      try {
        await api(`/v1/discrepancies/${encodeURIComponent(c.id)}/${action}`, { method: 'POST', json: { note: note.value.trim() } });
        await refresh(action === 'resolve' ? 'done_resolve' : 'done_ack');
      } catch (e) { problem(e); }
    };
    const d = c.dispute;
    fill(box,
      h('h3', {}, codeLabel(c.code), ' ', badge('severity', c.severity), ' ', badge('status', c.status), d ? ' ' : null, d ? h('span', { id: 'case-dispute-status' }, badge('dispute', d.status)) : null),
      h('p', { class: 'case-detail', text: c.detail }),
      kv({ ...c, resolution: c.resolution ? en('resolution', c.resolution) : undefined },
        ['id', 'admdvs', 'insurer_code', 'fixmedins_code', 'period', 'setl_id', 'subject_key', 'expected_amount', 'actual_amount', 'difference', 'occurrences', 'detected_at', 'updated_at', 'resolved_at', 'resolution', 'reopens', 'note']),
      c.setl_id ? h('button', { type: 'button', class: 'ghost', id: 'case-open-settlement', text: t('open_settlement'), onclick: () => { selectTab('settlement'); $('#setl-id').value = c.setl_id; void loadSettlement(c.setl_id); } }) : null,
      d ? disputeView(c, d) : null,
      h('h4', { text: t('evidence') }),
      h('pre', { id: 'case-evidence', text: JSON.stringify(c.evidence, null, 2) }),
      h('h4', { text: t('history') }),
      table([
        { key: 'at', render: (r) => String(r.at).replace('T', ' ').slice(0, 19) },
        { key: 'action', render: (r) => en('action', r.action) },
        { key: 'actor' },
        { key: 'note', render: (r) => [r.data && r.data.reason_code ? `${r.data.reason_code} ` : '', (r.data && r.data.note) || ''].join('') },
      ], c.history || []),
      canAct ? h('div', { class: 'actions' }, note, h('div', { class: 'buttons' },
        c.status === 'open' ? h('button', { type: 'button', id: 'case-ack', class: 'ghost', text: t('acknowledge'), onclick: () => act('acknowledge') }) : null,
        h('button', { type: 'button', id: 'case-resolve', text: t('resolve'), onclick: () => act('resolve') }))) : null,
      canAct && d && d.status === 'open' ? decisionForm(c, refresh) : null,
      party && c.status !== 'resolved' && !(d && d.status === 'open') ? disputeForm(c, refresh) : null,
      authority || party ? commentForm(c, refresh) : null,
    );
  }
  function disputeView(c, d) {
    return h('div', { class: 'card section', id: 'case-dispute' },
      h('h4', {}, t('dispute'), ' ', badge('dispute', d.status)),
      kv({ ...d, reason_code: `${d.reason_code} · ${REASONS[d.reason_code] ? REASONS[d.reason_code][L()] : ''}` }, ['reason_code', 'note', 'by', 'at', 'decision_note', 'decided_by', 'decided_at']),
      (d.attachments || []).length ? h('div', {}, h('h4', { text: t('attachments') }), h('ul', { id: 'case-attachments' }, d.attachments.map((a) =>
        h('li', {}, h('button', { type: 'button', class: 'ghost', text: `${a.filename} (${a.bytes} B)`, onclick: () => downloadAttachment(c.id, a) }))))) : null,
    );
  }
  async function downloadAttachment(caseId, a) {
    try {
      const res = await fetch(`/v1/discrepancies/${encodeURIComponent(caseId)}/attachments/${encodeURIComponent(a.id)}`, { headers: { Authorization: `Bearer ${state.token}` } });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      const url = URL.createObjectURL(await res.blob());
      const link = h('a', { href: url, download: a.filename });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (e) { problem(e); }
  }
  /** Files as {filename, content_base64}, read in the browser (the API takes JSON); 5 MiB in all. */
  async function filesAsAttachments(input) {
    const files = [...(input.files || [])];
    if (files.reduce((n, f) => n + f.size, 0) > MAX_FILES_BYTES) throw new Error(t('files_too_large'));
    return Promise.all(files.map((f) => new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve({ filename: f.name, content_base64: String(r.result).replace(/^data:[^,]*,/, '') });
      r.onerror = () => reject(r.error);
      r.readAsDataURL(f);
    })));
  }
  function disputeForm(c, refresh) {
    const reason = h('select', { id: 'dispute-reason' }, Object.keys(REASONS).map((k) => h('option', { value: k, text: `${k} · ${REASONS[k][L()]}` })));
    const note = h('textarea', { id: 'dispute-note', maxlength: '2000', placeholder: t('dispute_note') });
    const files = h('input', { id: 'dispute-files', type: 'file', multiple: true });
    const submit = async () => {
      try {
        const body = { reason_code: reason.value };
        if (note.value.trim()) body.note = note.value.trim();
        const attachments = await filesAsAttachments(files);
        if (attachments.length) body.attachments = attachments;
        await api(`/v1/discrepancies/${encodeURIComponent(c.id)}/dispute`, { method: 'POST', json: body });
        await refresh('disputed_done');
      } catch (e) { problem(e); }
    };
    return h('div', { class: 'actions card', id: 'dispute-form' }, h('h4', { text: t('dispute_title') }),
      h('label', {}, h('span', { text: t('reason_code') }), reason), note,
      h('label', {}, h('span', { text: t('dispute_files') }), files),
      h('div', { class: 'buttons' }, h('button', { type: 'button', id: 'dispute-submit', text: t('dispute_submit'), onclick: submit })));
  }
  function decisionForm(c, refresh) {
    const note = h('textarea', { id: 'decision-note', maxlength: '2000', placeholder: t('decision_note') });
    const decide = async (decision) => {
      if (!note.value.trim()) { flash(t('note_required')); return; }
      try {
        await api(`/v1/discrepancies/${encodeURIComponent(c.id)}/dispute-decision`, { method: 'POST', json: { decision, note: note.value.trim() } });
        await refresh('decided_done');
      } catch (e) { problem(e); }
    };
    return h('div', { class: 'actions card', id: 'decision-form' }, h('h4', { text: t('dispute') }), note, h('div', { class: 'buttons' },
      h('button', { type: 'button', id: 'dispute-uphold', text: t('uphold'), onclick: () => decide('upheld') }),
      h('button', { type: 'button', id: 'dispute-reject', class: 'ghost', text: t('reject'), onclick: () => decide('rejected') })));
  }
  function commentForm(c, refresh) {
    const note = h('textarea', { id: 'comment-note', maxlength: '2000', placeholder: t('comment_note') });
    const post = async () => {
      if (!note.value.trim()) { flash(t('note_required')); return; }
      try {
        await api(`/v1/discrepancies/${encodeURIComponent(c.id)}/comment`, { method: 'POST', json: { note: note.value.trim() } });
        await refresh('commented_done');
      } catch (e) { problem(e); }
    };
    return h('div', { class: 'actions', id: 'comment-form' }, h('h4', { text: t('comment') }), note,
      h('div', { class: 'buttons' }, h('button', { type: 'button', id: 'comment-submit', class: 'ghost', text: t('comment_submit'), onclick: post })));
  }

  // ---------------------------------------------------------------- settlement
  async function loadSettlement(id) {
    try {
      state.setl = null; state.benefit = null;
      const { body } = await api(`/v1/settlements/${encodeURIComponent(id)}`);
      state.setl = body;
      flash('');
      renderSettlement();
      // The derivation is a separate read; a settlement outside any region's rules simply has none.
      try { state.benefit = (await api(`/v1/settlements/${encodeURIComponent(id)}/benefit`)).body; } catch { state.benefit = null; }
      renderSettlement();
    } catch (e) { renderSettlement(); problem(e); }
  }
  function timeline(s) {
    const ev = [];
    if (s.received_at) ev.push({ at: s.received_at, event: t('ev_received'), detail: s.message_id || '' });
    if (s.reversal) ev.push({ at: s.reversal.received_at, event: t('ev_reversed'), detail: s.reversal.message_id });
    for (const p of s.payments || []) ev.push({ at: p.pay_time, event: t('ev_paid'), detail: `${p.insurer_code} ${p.payment_id} ${t('paid')} ${p.paid_amount}${p.rejected_amount && p.rejected_amount !== '0.00' ? ` / ${t('rejected')} ${p.rejected_amount}` : ''}` });
    for (const r of s.recoveries || []) ev.push({ at: r.recovered_at, event: t('ev_recovered'), detail: `${r.insurer_code} ${r.recovery_id} ${r.amount}` });
    for (const d of s.discrepancies || []) {
      ev.push({ at: d.detected_at, event: t('ev_detected'), detail: codeLabel(d.code) });
      if (d.resolved_at) ev.push({ at: d.resolved_at, event: t('ev_resolved'), detail: `${codeLabel(d.code)} (${en('resolution', d.resolution)})` });
    }
    if (s.loop && s.loop.due_at) ev.push({ at: s.loop.due_at, event: t('ev_due'), detail: '' });
    if (s.loop && s.loop.closed_at) ev.push({ at: s.loop.closed_at, event: t('ev_closed'), detail: '' });
    return ev.filter((e) => e.at).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  }
  const RECORD_FIELDS = ['setl_id', 'mdtrt_id', 'psn_no', 'psn_name', 'certno', 'insuplc_admdvs', 'fixmedins_code', 'insurer_code', 'med_type', 'setl_mode', 'setl_time', 'medfee_sumamt', 'hifp_pay', 'hifob_pay', 'status'];
  function renderSettlement() {
    const box = $('#setl-view');
    const s = state.setl;
    if (!s) { fill(box); return; }
    const loop = s.loop;
    const amounts = ['owed', 'paid', 'rejected', 'recovered', 'outstanding'];
    fill(box,
      h('h3', {}, `${s.setl_id} `, loop ? badge('loop', loop.status) : null),
      loop ? h('div', { class: 'cards', id: 'setl-loop' }, amounts.map((k) => h('div', { class: 'card' }, h('div', { class: 'label', text: t(k) }), h('div', { class: 'value', text: loop[k] }))),
        h('div', { class: 'card' }, h('div', { class: 'label', text: t('due_at') }), h('div', { class: 'value small', text: String(loop.due_at || '').slice(0, 10) }))) : null,
      h('div', { class: 'row' },
        h('div', { class: 'card' }, h('h4', { text: t('record') }), kv(s, RECORD_FIELDS)),
        h('div', { class: 'card' }, h('h4', { text: t('timeline') }), table([{ key: 'at', render: (r) => String(r.at).replace('T', ' ').slice(0, 19) }, { key: 'event' }, { key: 'detail' }], timeline(s)))),
      h('div', { class: 'section' }, h('h4', { text: t('payments') }),
        (s.payments || []).length ? table([{ key: 'pay_time' }, { key: 'insurer_code' }, { key: 'payment_id' }, { key: 'payee_id' }, { key: 'paid', num: true, render: (r) => r.paid_amount }, { key: 'rejected', num: true, render: (r) => r.rejected_amount }, { key: 'reject_reason_code' }], s.payments) : h('p', { class: 'muted', text: t('no_rows') })),
      (s.recoveries || []).length ? h('div', { class: 'section' }, h('h4', { text: t('recoveries') }), table([{ key: 'recovered_at', label: t('at') }, { key: 'insurer_code' }, { key: 'recovery_id' }, { key: 'amount', label: t('recovered'), num: true }], s.recoveries)) : null,
      h('div', { class: 'section' }, h('h4', { text: t('discrepancies') }),
        (s.discrepancies || []).length ? table([{ key: 'code', render: (r) => codeLabel(r.code) }, { key: 'severity', render: (r) => badge('severity', r.severity) }, { key: 'status', render: (r) => badge('status', r.status) }, { key: 'difference', num: true }, { key: 'detected_at' }], s.discrepancies,
          { onRow: (r) => { selectTab('discrepancies'); void openCase(r.id); } }) : h('p', { class: 'muted', text: t('no_rows') })),
      state.benefit ? h('div', { class: 'section', id: 'setl-benefit' }, h('h4', { text: t('benefit') }),
        kv(state.benefit, ['expected_amount', 'actual_amount', 'difference']), h('pre', { text: state.benefit.explanation || JSON.stringify(state.benefit.derivation, null, 2) })) : null,
    );
  }

  // ---------------------------------------------------------------- reconciliation
  /** A run just started or opened shows at once; the list itself is the run history of the API (GET /v1/reconciliations). */
  function rememberRun(run) {
    const i = state.runs.findIndex((r) => r.run_id === run.run_id);
    const entry = { ...(i >= 0 ? state.runs[i] : {}), run_id: run.run_id, admdvs: run.admdvs, period: run.period, status: run.status };
    if (i >= 0) state.runs[i] = entry; else state.runs.unshift(entry);
    renderRunList();
  }
  async function loadRuns(more) {
    try {
      const p = new URLSearchParams({ limit: '20' });
      if (more && state.runsNext) p.set('cursor', state.runsNext);
      const { body } = await api(`/v1/reconciliations?${p}`);
      state.runs = more ? state.runs.concat(body.items) : body.items;
      state.runsNext = body.next_cursor;
      state.runsLoaded = true;
      renderRunList();
    } catch (e) { problem(e); }
  }
  function renderRunList() {
    $('#run-list').replaceChildren(...state.runs.map((r) => h('li', {}, h('button', { type: 'button', class: 'ghost', 'data-run': r.run_id, onclick: () => openRun(r.run_id) },
      `${r.admdvs} ${r.period} · ${en('run', r.status)}${r.created_at ? ` · ${String(r.created_at).replace('T', ' ').slice(0, 16)}` : ''} · ${r.run_id}`))));
    $('#run-more').hidden = !state.runsNext;
  }
  async function startRun(form) {
    try {
      const body = { admdvs: form.admdvs.value.trim(), period: form.period.value.trim() };
      if (form.as_of.value.trim()) body.as_of = form.as_of.value.trim();
      const res = await api('/v1/reconciliations', { method: 'POST', json: body });
      flash('');
      rememberRun({ ...body, ...res.body });
      await openRun(res.body.run_id);
    } catch (e) { problem(e); }
  }
  async function openRun(id) {
    clearTimeout(state.poll);
    try {
      const { body } = await api(`/v1/reconciliations/${encodeURIComponent(id)}`);
      state.run = body;
      $('#run-id').value = body.run_id;
      rememberRun(body);
      flash('');
      renderRun();
      // Poll until the worker finishes: the report only exists once the run has completed.
      if (body.status === 'queued' || body.status === 'running') state.poll = setTimeout(() => openRun(id), 1000);
    } catch (e) { problem(e); }
  }
  function flatten(obj, prefix = '', out = []) {
    for (const [k, v] of Object.entries(obj || {})) {
      if (v && typeof v === 'object' && !Array.isArray(v)) flatten(v, `${prefix}${k}.`, out);
      else out.push([`${prefix}${k}`, Array.isArray(v) ? JSON.stringify(v) : String(v)]);
    }
    return out;
  }
  function renderRun() {
    const box = $('#run-view');
    const r = state.run;
    if (state.chart) { state.chart.destroy(); state.chart = null; }
    if (state.ageingChart) { state.ageingChart.destroy(); state.ageingChart = null; }
    if (!r) { fill(box); return; }
    const done = r.status === 'completed';
    const canvas = h('canvas', { id: 'run-chart' });
    // Arrears by age (spec §10): one stacked bar per insurer (runs before the ageing have none).
    const aged = done ? r.insurers.filter((x) => x.ageing) : [];
    const ageingCanvas = h('canvas', { id: 'run-ageing-chart' });
    fill(box,
      h('h3', {}, `${r.admdvs} · ${r.period} `, h('span', { id: 'run-status' }, badge('run', r.status))),
      kv(r, ['run_id', 'as_of', 'trigger', 'created_at', 'finished_at']),
      r.status === 'failed' ? h('p', { class: 'error', text: `${t('run_failed')}: ${r.error || ''}` }) : null,
      !done && r.status !== 'failed' ? h('p', { class: 'muted', text: t('run_waiting') }) : null,
      done && r.summary && r.summary.totals ? h('div', { class: 'cards', id: 'run-totals' }, ['recorded_hifob', 'paid', 'rejected', 'recovered', 'outstanding', 'balanced_institutions']
        .filter((k) => r.summary.totals[k] !== undefined)
        .map((k) => h('div', { class: 'card' }, h('div', { class: 'label', text: k === 'balanced_institutions' ? t('balanced_institutions') : t(k) }),
          h('div', { class: 'value', text: k === 'balanced_institutions' ? `${r.summary.totals[k]} / ${r.summary.totals.institutions}` : r.summary.totals[k] })))) : null,
      done ? h('div', { class: 'toolbar' },
        h('button', { type: 'button', id: 'export-csv', onclick: () => download(r, 'csv') }, t('export_csv')),
        h('button', { type: 'button', id: 'export-xlsx', onclick: () => download(r, 'xlsx') }, t('export_xlsx'))) : null,
      done && r.institutions.length ? h('div', {}, h('h4', { text: t('chart') }), h('div', { class: 'chart-box' }, canvas)) : null,
      aged.length ? h('div', {}, h('h4', { text: t('ageing_chart') }), h('div', { class: 'chart-box' }, ageingCanvas)) : null,
      done ? h('div', { class: 'section' }, h('h4', { text: t('institutions') }), table([
        { key: 'fixmedins_code' }, { key: 'declared_cnt', num: true }, { key: 'declared_hifob', num: true }, { key: 'recorded_cnt', num: true },
        { key: 'recorded_hifob', num: true }, { key: 'paid', num: true }, { key: 'rejected', num: true }, { key: 'recovered', num: true }, { key: 'outstanding', num: true },
        { key: 'balanced', render: (x) => h('span', { class: x.balanced ? 'yes' : 'no', text: x.balanced ? t('yes') : t('no') }) },
      ], r.institutions)) : null,
      done && r.insurers.length ? h('div', { class: 'section' }, h('h4', { text: t('insurers') }), table([
        { key: 'insurer_code' }, { key: 'planned', num: true }, { key: 'paid', num: true }, { key: 'disbursed', num: true },
      ], r.insurers)) : null,
      done && r.summary ? h('details', { class: 'section', id: 'run-summary' }, h('summary', { text: t('summary_all') }),
        h('dl', { class: 'kv' }, flatten(r.summary).flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]))) : null,
    );
    if (done && r.institutions.length && window.Chart) drawChart(canvas, r.institutions);
    if (aged.length && window.Chart) {
      const n = (s) => Number(s || 0);
      const ds = (key, color) => ({ label: t(key), data: aged.map((x) => n(x.ageing[key])), backgroundColor: color });
      drawChart(ageingCanvas, aged, {
        labelKey: 'insurer_code', slot: 'ageingChart', stacked: true,
        datasets: [ds('not_due', '#94a3b8'), ds('d1_10', '#facc15'), ds('d11_30', '#f97316'), ds('d31_60', '#dc2626'), ds('over_60', '#7f1d1d')],
      });
    }
  }
  /** A bar chart of rows (per institution by default; `o` for the insurers' stacked ageing). */
  function drawChart(canvas, rows, o = {}) {
    const n = (s) => Number(s || 0);
    const ds = (key, color) => ({ label: t(key), data: rows.map((x) => n(x[key])), backgroundColor: color });
    const datasets = o.datasets || [ds('recorded_hifob', '#1f6feb'), ds('paid', '#15803d'), ds('rejected', '#b7791f'), ds('outstanding', '#b91c1c')];
    const labelKey = o.labelKey || 'fixmedins_code';
    const slot = o.slot || 'chart';
    // A canvas does not follow the page's CSS, and never redraws when a web font arrives: the chart
    // gets the page's fonts, and is drawn once the pieces of them its labels need have loaded
    // (otherwise its Chinese legend shows as boxes where the machine has no CJK font of its own).
    const family = getComputedStyle(document.body).fontFamily;
    const text = datasets.map((d) => d.label).concat(rows.map((x) => x[labelKey]), '0123456789,.').join('');
    const fontsLoaded = document.fonts ? document.fonts.load(`12px ${family}`, text).catch(() => undefined) : Promise.resolve();
    fontsLoaded.then(() => {
      if (!canvas.isConnected) return; // the run was shown again meanwhile, on a new canvas
      window.Chart.defaults.font.family = family;
      const scales = o.stacked ? { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } : { y: { beginAtZero: true } };
      state[slot] = new window.Chart(canvas, {
        type: 'bar',
        data: { labels: rows.map((x) => x[labelKey]), datasets },
        // No animation: the chart is complete the moment it is drawn (and in a screenshot).
        options: { animation: false, responsive: true, maintainAspectRatio: false, scales, plugins: { legend: { position: 'bottom' } } },
      });
    });
  }
  async function download(run, format) {
    try {
      const res = await fetch(`/v1/reconciliations/${encodeURIComponent(run.run_id)}/export?format=${format}`, { headers: { Authorization: `Bearer ${state.token}` } });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      const cd = res.headers.get('content-disposition') || '';
      const m = /filename\*=UTF-8''([^;]+)/i.exec(cd) || /filename="([^"]+)"/i.exec(cd);
      const name = m ? decodeURIComponent(m[1]) : `reconciliation-${run.run_id}.${format}`;
      const url = URL.createObjectURL(await res.blob());
      const a = h('a', { href: url, download: name });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      flash(`${t('downloaded')}: ${name}`, 'info');
    } catch (e) { problem(e); }
  }

  // ---------------------------------------------------------------- fund year (spec §8)
  /** The latest completed statement of each region-year (GET /v1/fund-statements): the nightly ones too. */
  async function loadFundStatements() {
    try {
      const { body } = await api('/v1/fund-statements');
      $('#fund-list').replaceChildren(...body.items.map((s) => h('li', {}, h('button', { type: 'button', class: 'ghost', 'data-statement': s.statement_id, onclick: () => openFundStatement(s.statement_id) },
        `${s.admdvs} ${s.fund_year} · ${en('trigger', s.trigger)} · ${String(s.finished_at || s.created_at).replace('T', ' ').slice(0, 16)} · ${s.statement_id}`))));
    } catch (e) { problem(e); }
  }
  async function startFundStatement(form) {
    try {
      const body = { admdvs: form.admdvs.value.trim(), fund_year: form.fund_year.value.trim() };
      if (form.as_of.value.trim()) body.as_of = form.as_of.value.trim();
      if (form.opening_balance.value.trim()) body.opening_balance = form.opening_balance.value.trim();
      const res = await api('/v1/fund-statements', { method: 'POST', json: body });
      flash('');
      await openFundStatement(res.body.statement_id);
    } catch (e) { problem(e); }
  }
  async function openFundStatement(id) {
    clearTimeout(state.fundPoll);
    try {
      const { body } = await api(`/v1/fund-statements/${encodeURIComponent(id)}`);
      state.fund = body;
      renderFund();
      if (body.status === 'queued' || body.status === 'running') state.fundPoll = setTimeout(() => openFundStatement(id), 1000);
      else if (body.status === 'completed') void loadFundStatements();
    } catch (e) { problem(e); }
  }
  function renderFund() {
    const f = state.fund;
    const box = $('#fund-view');
    if (!f) { fill(box); return; }
    const done = f.status === 'completed';
    const url = (q) => `/v1/fund-statements/${encodeURIComponent(f.statement_id)}/export?${q}`;
    const name = (ext) => `fund-statement-${f.admdvs}-${f.fund_year}.${ext}`;
    fill(box,
      h('h3', {}, `${f.admdvs} · ${f.fund_year} `, badge('run', f.status)),
      kv(f, ['statement_id', 'as_of', 'known_at', 'finished_at']),
      f.status === 'failed' ? h('p', { class: 'error', text: f.error || '' }) : null,
      !done && f.status !== 'failed' ? h('p', { class: 'muted', text: t('fund_waiting') }) : null,
      done ? h('div', { class: 'toolbar' },
        h('button', { type: 'button', id: 'fund-export-xlsx', onclick: () => downloadUrl(url('format=xlsx'), name('xlsx')) }, t('export_xlsx')),
        h('button', { type: 'button', id: 'fund-export-csv', onclick: () => downloadUrl(url('format=csv&section=insurers'), name('csv')) }, t('export_csv')),
        h('button', { type: 'button', id: 'fund-export-public', onclick: () => downloadUrl(url('format=xlsx&audience=public'), name('public.xlsx')) }, t('export_public'))) : null,
      done ? h('div', { class: 'section' }, h('h4', { text: t('summary') }), kv(f.region, ['premiums_collected', 'late_fees', 'insured_count', 'received_special_account',
        'disbursed_to_insurers', 'compliant_payouts', 'non_compliant_payouts', 'allowed_admin_costs', 'opening_balance', 'closing_balance'])) : null,
      done && f.insurers.length ? h('div', { class: 'section' }, h('h4', { text: t('insurers') }), table([
        { key: 'insurer_code' }, { key: 'premium_income', num: true }, { key: 'compliant_payouts', num: true }, { key: 'non_compliant_payouts', num: true },
        { key: 'recovered', num: true }, { key: 'operating_cost', num: true }, { key: 'operating_cost_ratio', num: true }, { key: 'admin_cost', num: true },
        { key: 'admin_cost_ratio', num: true }, { key: 'profit', num: true }, { key: 'profit_rate', num: true }, { key: 'excess_profit', num: true },
        { key: 'deficit_policy', num: true, render: (x) => x.deficit.policy }, { key: 'deficit_non_policy', num: true, render: (x) => x.deficit.non_policy },
      ], f.insurers)) : null,
      done && f.accounts.length ? h('div', { class: 'section' }, h('h4', { text: t('accounts') }), table([
        { key: 'account' }, { key: 'admdvs' }, { key: 'received', num: true }, { key: 'passed_on', num: true }, { key: 'balance', num: true },
      ], f.accounts)) : null,
    );
  }
  async function downloadUrl(path, fallback) {
    try {
      const res = await fetch(path, { headers: { Authorization: `Bearer ${state.token}` } });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      const cd = res.headers.get('content-disposition') || '';
      const m = /filename\*=UTF-8''([^;]+)/i.exec(cd) || /filename="([^"]+)"/i.exec(cd);
      const fileName = m ? decodeURIComponent(m[1]) : fallback;
      const blobUrl = URL.createObjectURL(await res.blob());
      const a = h('a', { href: blobUrl, download: fileName });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(blobUrl), 60000);
      flash(`${t('downloaded')}: ${fileName}`, 'info');
    } catch (e) { problem(e); }
  }

  // ---------------------------------------------------------------- messages
  async function searchMessages(more) {
    try {
      state.msg.loaded = true;
      if (!more) state.msg.query = qs($('#msg-filters')).toString();
      const p = new URLSearchParams(state.msg.query);
      p.set('limit', '50');
      if (more && state.msg.next) p.set('cursor', state.msg.next);
      const { body } = await api(`/v1/messages?${p}`);
      state.msg.items = more ? state.msg.items.concat(body.items) : body.items;
      state.msg.next = body.next_cursor;
      flash('');
      renderMessages();
    } catch (e) { problem(e); }
  }
  function renderMessages() {
    const m = state.msg;
    fillTable('msg-table', [
      { key: 'received_at', render: (r) => r.received_at.replace('T', ' ').slice(0, 19) },
      { key: 'kind', render: (r) => en('kind', r.kind) }, { key: 'client_id' },
      { key: 'status', render: (r) => badge('msg', r.status) },
      { key: 'record_count', num: true }, { key: 'error_count', num: true }, { key: 'message_id' },
    ], m.items, { idOf: (r) => r.message_id, onRow: (r) => openMessage(r.message_id) });
    $('#msg-empty').hidden = m.items.length > 0 || !m.loaded;
    $('#msg-more').hidden = !m.next;
  }
  async function openMessage(id) {
    try { state.msg.detail = (await api(`/v1/messages/${encodeURIComponent(id)}`)).body; renderMessage(); } catch (e) { problem(e); }
  }
  function renderMessage() {
    const box = $('#msg-detail');
    const m = state.msg.detail;
    box.hidden = !m;
    if (!m) return;
    fill(box,
      h('h3', {}, en('kind', m.kind), ' ', badge('msg', m.status)),
      kv(m, ['message_id', 'received_at', 'processed_at', 'record_count']),
      m.errors ? h('div', {}, h('h4', { text: t('errors') }), h('pre', { text: JSON.stringify(m.errors, null, 2) })) : null,
    );
  }

  // ---------------------------------------------------------------- subscribers (spec §6)
  async function loadSubscribers() {
    try {
      state.subs.items = (await api('/v1/subscribers')).body.items;
      state.subs.loaded = true;
      renderSubscribers();
    } catch (e) { problem(e); }
  }
  async function addSubscriber(form) {
    try {
      const body = { url: form.url.value.trim(), format: form.format.value };
      if (body.format === 'dingtalk' && form.robot_secret.value.trim()) body.robot_secret = form.robot_secret.value.trim();
      const codes = form.codes.value.split(/[\s,，]+/).filter(Boolean);
      if (codes.length) body.filter = { codes };
      if (form.description.value.trim()) body.description = form.description.value.trim();
      const { body: created } = await api('/v1/subscribers', { method: 'POST', json: body });
      // The robot secret is not kept in the page once sent; the gateway never shows it again either.
      form.robot_secret.value = '';
      state.subs.created = created;
      flash(t('sub_added'), 'info');
      await loadSubscribers();
    } catch (e) { problem(e); }
  }
  function renderSubscribers() {
    const created = state.subs.created;
    const pre = $('#sub-created');
    pre.hidden = !created;
    pre.textContent = created ? `${created.id}\n${t('sub_secret_once')}${created.secret}` : '';
    $('#sub-robot-secret-label').hidden = $('#sub-format').value !== 'dingtalk';
    const isOps = state.me && state.me.role === 'ops';
    fillTable('sub-table', [
      { key: 'id' }, { key: 'format' }, { key: 'url', render: (r) => h('span', { class: 'url', title: r.url, text: r.url.length > 60 ? `${r.url.slice(0, 57)}…` : r.url }) },
      { key: 'filter', render: (r) => JSON.stringify(r.filter || {}) },
      { key: 'robot_secret_set', render: (r) => (r.format === 'dingtalk' ? h('span', { class: r.robot_secret_set ? 'yes' : 'no', text: r.robot_secret_set ? t('yes') : t('no') }) : '') },
      { key: 'enabled', render: (r) => h('span', { class: r.enabled ? 'yes' : 'no', text: r.enabled ? t('yes') : t('no') }) },
      { key: 'action', render: (r) => (isOps && r.enabled ? h('button', { type: 'button', class: 'ghost', 'data-test': r.id, text: t('send_test'), onclick: () => sendTest(r.id) }) : '') },
    ], state.subs.items, { idOf: (r) => r.id });
    $('#sub-empty').hidden = state.subs.items.length > 0 || !state.subs.loaded;
  }
  /** Sends a test alert and follows its delivery until the receiver accepted it or it failed. */
  async function sendTest(id) {
    clearTimeout(state.subs.poll);
    try {
      const { body } = await api(`/v1/subscribers/${encodeURIComponent(id)}/test`, { method: 'POST' });
      state.subs.test = body;
      renderTest();
      void followTest(body.id, 0);
    } catch (e) { problem(e); }
  }
  async function followTest(deliveryId, n) {
    try {
      const { body } = await api(`/v1/deliveries/${encodeURIComponent(deliveryId)}`);
      state.subs.test = body;
      renderTest();
      // A failed attempt is retried on the schedule; the page stops watching after a minute.
      if (!['delivered', 'dead', 'cancelled', 'failed'].includes(body.status) && n < 60) state.subs.poll = setTimeout(() => followTest(deliveryId, n + 1), 1000);
    } catch (e) { problem(e); }
  }
  function renderTest() {
    const box = $('#sub-test');
    const d = state.subs.test;
    box.hidden = !d;
    if (!d) return;
    const verdict = d.status === 'delivered' ? h('p', { class: 'yes', id: 'sub-test-verdict', text: t('test_delivered') })
      : ['failed', 'dead', 'cancelled'].includes(d.status) ? h('p', { class: 'error', id: 'sub-test-verdict', text: `${t('test_failed')}: ${d.last_error || ''}` })
        : h('p', { class: 'muted', id: 'sub-test-verdict', text: t('test_waiting') });
    fill(box,
      h('h3', {}, t('test_alert'), ' ', h('span', { id: 'sub-test-status' }, badge('delivery', d.status))),
      kv({ ...d, webhook_id: d.webhook_id || d.id }, ['webhook_id', 'subscriber_id', 'attempts', 'delivered_at', 'last_error']),
      verdict,
    );
  }

  // ---------------------------------------------------------------- wiring
  function init() {
    $('#lang-toggle').addEventListener('click', () => { state.lang = state.lang === 'zh' ? 'en' : 'zh'; localStorage.setItem('console.lang', state.lang); applyLanguage(); });
    $('#logout').addEventListener('click', logout);
    $('#login-form').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      $('#login-error').hidden = true;
      try { await login($('#token').value.trim()); $('#token').value = ''; showApp(); } catch (e) { $('#login-error').textContent = e.message; $('#login-error').hidden = false; }
    });
    for (const b of document.querySelectorAll('.tabs button')) b.addEventListener('click', () => selectTab(b.dataset.tab));
    $('#disc-filters').addEventListener('submit', (ev) => { ev.preventDefault(); state.disc.detail = null; state.disc.selected = null; renderCase(); void searchDiscrepancies(false); });
    $('#disc-filters').addEventListener('reset', () => setTimeout(() => searchDiscrepancies(false)));
    $('#disc-more').addEventListener('click', () => searchDiscrepancies(true));
    $('#setl-form').addEventListener('submit', (ev) => { ev.preventDefault(); void loadSettlement($('#setl-id').value.trim()); });
    $('#run-form').addEventListener('submit', (ev) => { ev.preventDefault(); void startRun(ev.target); });
    $('#run-open-form').addEventListener('submit', (ev) => { ev.preventDefault(); void openRun($('#run-id').value.trim()); });
    $('#msg-filters').addEventListener('submit', (ev) => { ev.preventDefault(); state.msg.detail = null; renderMessage(); void searchMessages(false); });
    $('#msg-more').addEventListener('click', () => searchMessages(true));
    $('#run-more').addEventListener('click', () => loadRuns(true));
    $('#fund-form').addEventListener('submit', (ev) => { ev.preventDefault(); void startFundStatement(ev.target); });
    $('#sub-form').addEventListener('submit', (ev) => { ev.preventDefault(); void addSubscriber(ev.target); });
    $('#sub-format').addEventListener('change', () => { $('#sub-robot-secret-label').hidden = $('#sub-format').value !== 'dingtalk'; });
    applyLanguage();
    showApp();
  }
  init();
})();
