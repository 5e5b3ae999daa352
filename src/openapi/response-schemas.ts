/**
 * Schemas of the gateway's answers (spec §3 and §5). `schemas/` holds what clients send; these are
 * what they get back, kept next to the generator because no validator needs them. Field names and
 * status values are the spec's; amounts are strings, times ISO 8601 in China Standard Time.
 */
const str = { type: 'string' };
const amount = { type: 'string', pattern: '^-?[0-9]+\\.[0-9]{2}$', examples: ['90000.00'] };
const time = { type: 'string', examples: ['2025-04-15T10:00:00+08:00'] };
const fieldError = {
  type: 'object',
  required: ['path', 'code', 'message'],
  properties: { path: str, code: str, message: str },
};

export const RESPONSE_SCHEMAS: Record<string, Record<string, unknown>> = {
  Accepted: {
    type: 'object',
    required: ['message_id', 'status'],
    properties: {
      message_id: { type: 'string', format: 'uuid' },
      status: { const: 'accepted' },
      duplicate: {
        type: 'boolean',
        description: 'Present (true) when the same business key and body were accepted before.',
      },
    },
  },
  FeedResult: {
    type: 'object',
    required: ['status', 'accepted', 'rejected'],
    description: 'Per-record results of an agency feed: one bad record never sinks the rest.',
    properties: {
      message_id: { type: 'string', format: 'uuid' },
      status: { const: 'accepted' },
      duplicate: { type: 'boolean' },
      accepted: { type: 'integer', minimum: 0 },
      duplicates: { type: 'integer', minimum: 0 },
      rejected: {
        type: 'array',
        items: {
          type: 'object',
          required: ['index', 'errors'],
          properties: {
            index: {
              type: 'integer',
              minimum: 0,
              description: 'Position of the record in the request (NDJSON: line index from 0).',
            },
            errors: { type: 'array', items: fieldError },
          },
        },
      },
    },
  },
  MessageStatus: {
    type: 'object',
    required: ['message_id', 'kind', 'status', 'received_at'],
    properties: {
      message_id: str,
      kind: {
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
      status: { enum: ['accepted', 'processing', 'processed', 'failed'] },
      received_at: time,
      processed_at: time,
      errors: { type: 'array', items: { type: 'object' } },
      record_count: { type: 'integer' },
    },
  },
  Loop: {
    type: 'object',
    required: ['status'],
    properties: {
      status: { enum: ['owed', 'closed', 'overdue', 'reversed', 'not_owed'] },
      owed: amount,
      paid: amount,
      rejected: amount,
      recovered: amount,
      outstanding: amount,
      due_at: time,
    },
  },
  SettlementView: {
    description: 'The settlement record plus its loop state, payments and discrepancies.',
    allOf: [
      { $ref: '#/components/schemas/Settlement' },
      {
        type: 'object',
        properties: {
          loop: { $ref: '#/components/schemas/Loop' },
          payments: { type: 'array', items: { type: 'object' } },
          discrepancies: { type: 'array', items: { $ref: '#/components/schemas/Discrepancy' } },
        },
      },
    ],
  },
  BenefitExplanation: {
    type: 'object',
    required: ['setl_id', 'checked', 'actual_amount', 'explanation'],
    properties: {
      setl_id: str,
      checked: { type: 'boolean' },
      unchecked_reason: { type: ['string', 'null'] },
      region: { type: ['string', 'null'] },
      benefit_year: { type: ['integer', 'null'] },
      expected_amount: { type: ['string', 'null'] },
      actual_amount: amount,
      difference: { type: ['string', 'null'] },
      tolerance: { type: ['string', 'null'] },
      deviates: { type: 'boolean', description: 'Beyond the tolerance: BENEFIT_RULE_DEVIATION.' },
      derivation: { type: ['object', 'null'] },
      explanation: { type: 'string' },
    },
  },
  Discrepancy: {
    type: 'object',
    required: [
      'id',
      'code',
      'severity',
      'status',
      'admdvs',
      'insurer_code',
      'period',
      'subject_key',
      'occurrences',
      'detected_at',
      'updated_at',
    ],
    properties: {
      id: { type: 'string', format: 'uuid' },
      code: { type: 'string', examples: ['PAYMENT_OVERDUE'] },
      severity: { enum: ['low', 'medium', 'high', 'critical'] },
      status: { enum: ['open', 'acknowledged', 'resolved'] },
      resolution: { enum: ['auto', 'manual'] },
      admdvs: str,
      insurer_code: str,
      fixmedins_code: str,
      period: str,
      setl_id: str,
      subject_key: str,
      expected_amount: amount,
      actual_amount: amount,
      difference: amount,
      detail: str,
      evidence: { type: 'object' },
      occurrences: { type: 'integer' },
      detected_at: time,
      updated_at: time,
      resolved_at: time,
      reopens: { type: 'string', format: 'uuid' },
      note: str,
      history: { type: 'array', items: { type: 'object' } },
      dispute: {
        type: 'object',
        required: ['status', 'reason_code', 'by', 'at'],
        description: 'The dispute in force (spec §10): open, or the last one decided.',
        properties: {
          status: { enum: ['open', 'upheld', 'rejected'] },
          reason_code: { enum: ['D01', 'D02', 'D03', 'D04', 'D99'] },
          note: str,
          by: str,
          at: time,
          attachments: {
            type: 'array',
            items: {
              type: 'object',
              properties: {
                id: { type: 'string', format: 'uuid' },
                filename: str,
                content_type: str,
                bytes: { type: 'integer' },
                sha256: str,
              },
            },
          },
          decision_note: str,
          decided_by: str,
          decided_at: time,
        },
      },
    },
  },
  DiscrepancyPage: {
    type: 'object',
    required: ['items', 'next_cursor'],
    properties: {
      items: { type: 'array', items: { $ref: '#/components/schemas/Discrepancy' } },
      next_cursor: { type: ['string', 'null'] },
    },
  },
  CaseNote: {
    type: 'object',
    required: ['note'],
    properties: { note: { type: 'string', minLength: 1, maxLength: 2000 } },
  },
  CaseDisputeInput: {
    type: 'object',
    required: ['reason_code'],
    additionalProperties: false,
    properties: {
      reason_code: {
        enum: ['D01', 'D02', 'D03', 'D04', 'D99'],
        description: 'D01 线下已付, D02 审核中, D03 经办记录有误, D04 申报无误, D99 其他 (note required).',
      },
      note: { type: 'string', maxLength: 2000 },
      attachments: {
        type: 'array',
        maxItems: 20,
        description: 'At most 5 MiB decoded in all.',
        items: {
          type: 'object',
          required: ['filename', 'content_base64'],
          additionalProperties: false,
          properties: {
            filename: { type: 'string', minLength: 1, maxLength: 200 },
            content_base64: { type: 'string', contentEncoding: 'base64' },
          },
        },
      },
    },
  },
  DisputeDecision: {
    type: 'object',
    required: ['decision', 'note'],
    additionalProperties: false,
    properties: { decision: { enum: ['upheld', 'rejected'] }, note: { type: 'string', minLength: 1, maxLength: 2000 } },
  },
  ReconciliationRequest: {
    type: 'object',
    required: ['admdvs', 'period'],
    properties: {
      admdvs: { $ref: '#/components/schemas/AdmdvsPrefix' },
      period: { $ref: '#/components/schemas/Period' },
      as_of: {
        $ref: '#/components/schemas/Time',
        description:
          'Business time (default: now): deadlines are judged at it; payments, recoveries and disbursements dated after it do not count.',
      },
      known_at: {
        $ref: '#/components/schemas/Time',
        description:
          'Knowledge cut-off (default: when the run starts): facts the gateway received after it are left out, so an earlier report can be reproduced exactly. ' +
          'A known_at before now makes a report-only run: it changes no discrepancy. After now is 422 (up to 300 s after now reads as the default).',
      },
    },
  },
  ReconciliationQueued: {
    type: 'object',
    required: ['run_id'],
    properties: {
      run_id: str,
      status: str,
      admdvs: str,
      period: str,
      as_of: time,
      known_at: { ...time, type: ['string', 'null'] },
      existing: { type: 'boolean' },
    },
  },
  Ageing: {
    type: ['object', 'null'],
    required: ['not_due', 'd1_10', 'd11_30', 'd31_60', 'over_60'],
    description:
      "Arrears by age (应支未支, spec §10): outstanding by working days past the due date as of the run's as_of — the due date is day 0, the next working day day 1; " +
      "bucket bounds are region parameters (loop_params.ageing_buckets, default 10 / 30 / 60; the keys keep their names). The buckets add up to the row's outstanding. Null on runs before migration 140.",
    properties: { not_due: amount, d1_10: amount, d11_30: amount, d31_60: amount, over_60: amount },
  },
  ViolationRow: {
    type: 'object',
    required: [
      'insurer_code',
      'fixmedins_code',
      'month',
      'reason_code',
      'rejected_cnt',
      'rejected_amount',
      'recovered_cnt',
      'recovered_amount',
    ],
    description:
      "An insurer's findings against an institution in a month, for one reason code (000 §5 (六)): rejections by the month of pay_time, recoveries by the month of recovered_at (CST).",
    properties: {
      insurer_code: str,
      fixmedins_code: {
        type: ['string', 'null'],
        description:
          'The institution of the settlement named (null only for a rejection naming a settlement the agency never recorded, paid to a person).',
      },
      month: { type: 'string', pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$' },
      reason_code: str,
      rejected_cnt: { type: 'integer' },
      rejected_amount: amount,
      recovered_cnt: { type: 'integer' },
      recovered_amount: amount,
    },
  },
  ReconciliationRun: {
    type: 'object',
    required: ['run_id', 'status', 'admdvs', 'period'],
    properties: {
      run_id: str,
      status: { enum: ['queued', 'running', 'completed', 'failed'] },
      admdvs: str,
      period: str,
      as_of: time,
      known_at: {
        ...time,
        type: ['string', 'null'],
        description:
          "The knowledge cut-off: facts received after it are left out. Null while a run asked for without one is queued (it becomes the run's start).",
      },
      report_only: {
        type: 'boolean',
        description: "known_at lay before the run's start: the run reproduced a report and changed no discrepancy.",
      },
      summary: { type: ['object', 'null'] },
      institutions: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            fixmedins_code: str,
            declared_cnt: { type: 'integer' },
            declared_hifob: amount,
            recorded_cnt: { type: 'integer' },
            recorded_hifob: amount,
            paid: amount,
            rejected: amount,
            recovered: amount,
            outstanding: amount,
            balanced: {
              type: 'boolean',
              description: "Declared count and hifob_pay total equal the agency's (the 3201 check).",
            },
            ageing: { $ref: '#/components/schemas/Ageing' },
          },
        },
      },
      insurers: {
        type: 'array',
        description:
          'Every insurer owing settlements of the region-period, or with a plan, a payment or a disbursement attributed to the region (spec §3).',
        items: {
          type: 'object',
          properties: {
            insurer_code: str,
            planned: amount,
            paid: amount,
            disbursed: amount,
            plan_revision: { type: ['integer', 'null'] },
            payments_count: { type: 'integer' },
            ageing: { $ref: '#/components/schemas/Ageing' },
          },
        },
      },
    },
  },
  FundStatementRequest: {
    type: 'object',
    required: ['admdvs', 'fund_year'],
    additionalProperties: false,
    properties: {
      admdvs: { $ref: '#/components/schemas/AdmdvsPrefix' },
      fund_year: { type: ['string', 'integer'], pattern: '^[0-9]{4}$', description: 'The fund year, yyyy.' },
      as_of: {
        $ref: '#/components/schemas/Time',
        description:
          'Business time (default: now): payments, recoveries, disbursements, collections, transfers and cost reports dated after it do not count; cost reports are due by it.',
      },
      known_at: {
        $ref: '#/components/schemas/Time',
        description:
          'Knowledge cut-off (default: when the statement is computed). Before now: the statement only reproduces figures and changes no case.',
      },
      opening_balance: {
        type: 'string',
        pattern: '^-?[0-9]{1,14}(\\.[0-9]{1,2})?$',
        description:
          "Roll-over balance at the start of the year (default: the previous fund year's closing balance, 0 for the first). May be negative.",
      },
    },
  },
  FundStatementQueued: {
    type: 'object',
    required: ['statement_id'],
    properties: {
      statement_id: str,
      status: str,
      admdvs: str,
      fund_year: str,
      as_of: time,
      known_at: { ...time, type: ['string', 'null'] },
    },
  },
  FundStatement: {
    type: 'object',
    required: ['statement_id', 'status', 'admdvs', 'fund_year'],
    properties: {
      statement_id: str,
      status: { enum: ['queued', 'running', 'completed', 'failed'] },
      admdvs: str,
      fund_year: str,
      as_of: time,
      known_at: { ...time, type: ['string', 'null'] },
      summary: { type: ['object', 'null'] },
      error: str,
      region: {
        type: ['object', 'null'],
        properties: {
          premiums_collected: amount,
          late_fees: amount,
          insured_count: { type: 'integer' },
          received_special_account: amount,
          disbursed_to_insurers: amount,
          compliant_payouts: amount,
          non_compliant_payouts: amount,
          allowed_admin_costs: amount,
          opening_balance: amount,
          closing_balance: amount,
        },
      },
      insurers: {
        type: ['array', 'null'],
        items: {
          type: 'object',
          properties: {
            insurer_code: str,
            premium_income: amount,
            compliant_payouts: amount,
            non_compliant_payouts: amount,
            recovered: amount,
            operating_cost: { type: ['string', 'null'] },
            admin_cost: { type: ['string', 'null'] },
            operating_cost_ratio: { type: ['string', 'null'], description: 'Percent of premium income, two decimals.' },
            admin_cost_ratio: { type: ['string', 'null'] },
            allowed_costs: amount,
            costs_beyond_limits: amount,
            profit: amount,
            profit_rate: { type: ['string', 'null'] },
            excess_profit: amount,
            deficit: { type: 'object', properties: { total: amount, policy: amount, non_policy: amount } },
          },
        },
      },
      accounts: {
        type: ['array', 'null'],
        items: {
          type: 'object',
          properties: {
            account: { enum: ['tax', 'treasury', 'county_account', 'special_account', 'expenditure_account'] },
            admdvs: str,
            received: amount,
            passed_on: amount,
            balance: amount,
          },
        },
      },
    },
  },
  SubscriberInput: {
    type: 'object',
    required: ['url', 'format'],
    properties: {
      url: { type: 'string', format: 'uri' },
      format: { enum: ['json', 'dingtalk', 'wecom'] },
      enabled: { type: 'boolean', default: true },
      description: { type: 'string' },
      signature: {
        enum: ['v1', 'v1sm2'],
        default: 'v1',
        description: "`v1sm2`: deliveries also carry the gateway's SM2 signature (key at GET /v1/keys; spec §9).",
      },
      robot_secret: {
        type: 'string',
        pattern: '^SEC[A-Za-z0-9]{16,200}$',
        writeOnly: true,
        description:
          'DingTalk robots with the 加签 setting (format dingtalk only): each post goes to the URL with `&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256>`. Stored, never shown again.',
      },
      filter: {
        type: 'object',
        properties: {
          codes: { type: 'array', items: { type: 'string' } },
          severities: { type: 'array', items: { enum: ['low', 'medium', 'high', 'critical'] } },
          insurer_code: { type: 'string' },
        },
      },
    },
  },
  Subscriber: {
    type: 'object',
    required: ['id', 'url', 'format'],
    properties: {
      id: str,
      url: str,
      format: { enum: ['json', 'dingtalk', 'wecom'] },
      filter: { type: 'object' },
      enabled: { type: 'boolean' },
      description: str,
      signature: { enum: ['v1', 'v1sm2'] },
      secret: { type: 'string', description: 'whsec_ signing secret; only in the answer to POST.' },
      robot_secret_set: {
        type: 'boolean',
        description:
          'DingTalk subscribers: whether posts are signed with a robot secret (加签); the secret itself is never shown.',
      },
    },
  },
  Delivery: {
    type: 'object',
    required: ['id', 'status'],
    properties: {
      id: str,
      subscriber_id: str,
      status: str,
      webhook_id: str,
      attempts: { type: 'array', items: { type: 'object' } },
    },
  },
  Keys: {
    type: 'object',
    required: ['keys'],
    properties: {
      keys: {
        type: 'array',
        items: {
          type: 'object',
          required: ['kid', 'alg', 'use', 'pem'],
          properties: {
            kid: { type: 'string', description: 'First 16 hex of SHA-256 over the SPKI DER.' },
            alg: { const: 'SM2' },
            use: { const: 'sig' },
            pem: { type: 'string', description: 'SubjectPublicKeyInfo PEM (id-ecPublicKey, curve sm2p256v1).' },
            public_key_hex: { type: 'string', description: 'The same point as sm-crypto writes it: 04‖x‖y, hex.' },
          },
        },
      },
    },
  },
  NotificationStop: { type: 'object', properties: { reason: { type: 'string', maxLength: 500 } } },
  NotificationStatus: { type: 'object', properties: { paused: { type: 'boolean' } } },
  ConsoleLogin: {
    type: 'object',
    required: ['token'],
    properties: { token: { type: 'string', minLength: 8, maxLength: 512 } },
  },
  Health: { type: 'object', required: ['status'], properties: { status: { const: 'ok' } } },
  Readiness: {
    type: 'object',
    required: ['status'],
    properties: {
      status: { enum: ['ready', 'not_ready'] },
      database: { enum: ['ok', 'unreachable'] },
      redis: { enum: ['ok', 'unreachable'] },
    },
  },
};
