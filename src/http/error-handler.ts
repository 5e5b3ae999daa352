/**
 * The one error handler: every error becomes an RFC 9457 problem document. Client errors are
 * logged at info; anything unexpected is a 500 logged at error level (someone must act) — but the
 * body never leaks internals, and the process keeps serving.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging/logger';
import { ProblemError, badRequest, langOf, problemBody, tooLarge, unavailable } from './problem';

export function notFoundHandler(req: Request, _res: Response, next: NextFunction) {
  next(
    new ProblemError(
      404,
      'NOT_FOUND',
      { en: 'Not found', zh: '未找到' },
      { en: `no route ${req.method} ${req.path}`, zh: `没有路由 ${req.method} ${req.path}` },
    ),
  );
}

export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    let p: ProblemError;
    if (err instanceof ProblemError) p = err;
    else if ((err as { type?: string }).type === 'entity.too.large')
      p = tooLarge(Number((err as { limit?: number }).limit ?? 0));
    else if ((err as { type?: string }).type === 'entity.parse.failed')
      p = badRequest({ en: 'malformed JSON', zh: 'JSON 格式错误' });
    else if (isDbUnavailable(err)) {
      p = unavailable({ en: 'the database is not reachable; retry later', zh: '数据库暂不可用，请稍后重试' });
      log.error({ err, request_id: res.locals.requestId }, 'database unavailable');
    } else {
      p = new ProblemError(
        500,
        'INTERNAL',
        { en: 'Internal error', zh: '内部错误' },
        { en: 'an unexpected error; it has been logged', zh: '发生意外错误，已记录' },
      );
      log.error({ err, request_id: res.locals.requestId, route: req.route?.path }, 'unhandled error');
    }
    if (res.headersSent) return;
    // A body we did not read whole must not be mistaken for the next request on this connection.
    if (!req.complete) res.setHeader('Connection', 'close');
    for (const [k, v] of Object.entries(p.headers)) res.setHeader(k, v);
    if (p.status === 503) res.setHeader('Retry-After', '5');
    res
      .status(p.status)
      .type('application/problem+json')
      .send(
        JSON.stringify(problemBody(p, langOf(req.headers['accept-language']), req.originalUrl, res.locals.requestId)),
      );
  };
}

function isDbUnavailable(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return (
    code === 'ECONNREFUSED' ||
    code === '57P01' ||
    code === '57P03' ||
    code === '53300' ||
    /Connection terminated|timeout exceeded when trying to connect/.test(String((err as Error)?.message))
  );
}
