/**
 * The error hierarchy of the gateway and its rendering as RFC 9457 problem documents. Every error a
 * client can cause is a ProblemError with a status, a stable `code`, and messages in English and
 * Chinese; the one error handler (error-handler.ts) renders it.
 */
import type { FieldError, Lang } from '../schemas/validator';

export interface Text {
  en: string;
  zh: string;
}

export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: Text,
    readonly detail: Text,
    readonly errors: FieldError[] = [],
    readonly headers: Record<string, string> = {},
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail.en);
  }
}

const T = {
  400: { en: 'Malformed request', zh: '请求格式错误' },
  401: { en: 'Authentication failed', zh: '认证失败' },
  403: { en: 'Outside your scope', zh: '超出授权范围' },
  404: { en: 'Not found', zh: '未找到' },
  409: { en: 'Idempotency conflict', zh: '幂等冲突' },
  413: { en: 'Request too large', zh: '请求体过大' },
  415: { en: 'Unsupported media type', zh: '不支持的媒体类型' },
  422: { en: 'Validation failed', zh: '校验未通过' },
  429: { en: 'Too many requests', zh: '请求过于频繁' },
  503: { en: 'Service unavailable', zh: '服务暂不可用' },
} as const;

export const badRequest = (detail: Text, errors: FieldError[] = []) =>
  new ProblemError(400, 'MALFORMED', T[400], detail, errors);
export const unauthorized = (code: string, detail: Text) => new ProblemError(401, code, T[401], detail);
export const forbidden = (detail: Text, errors: FieldError[] = []) =>
  new ProblemError(403, 'OUT_OF_SCOPE', T[403], detail, errors);
export const notFound = (detail: Text) => new ProblemError(404, 'NOT_FOUND', T[404], detail);
export const conflict = (detail: Text, extra: Record<string, unknown> = {}) =>
  new ProblemError(409, 'IDEMPOTENCY_CONFLICT', T[409], detail, [], {}, extra);
export const tooLarge = (limit: number) =>
  new ProblemError(413, 'TOO_LARGE', T[413], { en: `the body exceeds ${limit} bytes`, zh: `请求体超过 ${limit} 字节` });
export const unsupportedMedia = (allowed: string[]) =>
  new ProblemError(415, 'UNSUPPORTED_MEDIA_TYPE', T[415], {
    en: `Content-Type must be ${allowed.join(' or ')}`,
    zh: `Content-Type 应为 ${allowed.join(' 或 ')}`,
  });
export const unprocessable = (
  errors: FieldError[],
  detail: Text = {
    en: 'the body does not satisfy the exchange schema or its business rules',
    zh: '请求体不符合交换规范或业务规则',
  },
  extra: Record<string, unknown> = {},
) =>
  new ProblemError(
    422,
    errors[0]?.code && /^[A-Z_]+$/.test(errors[0].code) ? errors[0].code : 'VALIDATION',
    T[422],
    detail,
    errors,
    {},
    extra,
  );
export const tooManyRequests = (retryAfterSeconds: number) =>
  new ProblemError(
    429,
    'RATE_LIMITED',
    T[429],
    { en: `retry after ${retryAfterSeconds} s`, zh: `请 ${retryAfterSeconds} 秒后重试` },
    [],
    { 'Retry-After': String(retryAfterSeconds) },
  );
export const unavailable = (detail: Text) => new ProblemError(503, 'UNAVAILABLE', T[503], detail);

/**
 * A problem's `type` is the section of docs/problems.md that explains it — a page inside the
 * repository, served by the gateway itself at /docs/problems (a relative URI reference, RFC 9457 §3.1.1),
 * so the link works on the closed networks agencies run on.
 */
export const PROBLEM_BASE = '/docs/problems#';

export function problemBody(
  e: ProblemError,
  lang: Lang,
  instance?: string,
  requestId?: string,
): Record<string, unknown> {
  return {
    type: PROBLEM_BASE + e.code.toLowerCase().replace(/_/g, '-'),
    title: lang === 'zh-CN' ? e.title.zh : e.title.en,
    status: e.status,
    detail: lang === 'zh-CN' ? e.detail.zh : e.detail.en,
    ...(instance ? { instance } : {}),
    ...(requestId ? { request_id: requestId } : {}),
    ...(e.errors.length ? { errors: e.errors } : {}),
    ...e.extra,
  };
}

/** `Accept-Language: zh-CN` (or any zh) gives Chinese; anything else English. */
export function langOf(acceptLanguage: string | undefined): Lang {
  if (!acceptLanguage) return 'en';
  const first = acceptLanguage
    .split(',')
    .map((p) => p.split(';')[0]!.trim().toLowerCase())
    .find(Boolean);
  return first?.startsWith('zh') ? 'zh-CN' : 'en';
}
