/**
 * A JSON answer written directly: the status, `Content-Type: application/json; charset=utf-8` and
 * `Content-Length`, as Express's `res.status(n).json(body)` writes them in this app (no ETag:
 * app.ts turns it off), without its per-call header lookups and MIME parsing (~5 µs of a signed
 * write's answer). For the hot write routes; others keep `res.json`.
 */
import type { Response } from 'express';

export function sendJson(res: Response, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
