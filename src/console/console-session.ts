/**
 * The console's cookie session, used only where a browser cannot send `Authorization: Bearer`
 * itself: the bull-board pages and their API calls under /console/queues.
 *
 * The cookie does not carry the bearer token. It carries `client_id.expiry.mac`, where mac is an
 * HMAC keyed with the SHA-256 of the token the operator logged in with (the value the clients file
 * already stores). So a cookie that ends up in a request log or a proxy trace opens the queue board
 * until it expires, not the /v1 API; removing the token from the clients file ends its sessions at
 * once; and several API processes check the same cookie without sharing any state.
 */
import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Client, ClientRegistry } from '../http/clients';
import { sha256Hex } from '../http/clients';
import { forbidden, unauthorized } from '../http/problem';

export const SESSION_COOKIE = 'gw_console';
/** Only the queue board reads the cookie, so the browser sends it nowhere else. */
export const SESSION_PATH = '/console/queues';
/** A working day; the console's own tab keeps the bearer token in sessionStorage anyway. */
export const SESSION_TTL_SECONDS = 12 * 3600;

function mac(tokenSha256: string, payload: string): string {
  return crypto.createHmac('sha256', tokenSha256).update(payload).digest('base64url');
}

export function issueSession(client: Client, token: string, nowMs: number): string {
  const payload = `${client.client_id}.${Math.floor(nowMs / 1000) + SESSION_TTL_SECONDS}`;
  return `${payload}.${mac(sha256Hex(token), payload)}`;
}

/** The client a session cookie value stands for, if it is genuine, unexpired and its token still known. */
export function verifySession(value: string, clients: ClientRegistry, nowMs: number): Client | undefined {
  const m = /^([A-Za-z0-9_.:-]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return undefined;
  const [, clientId, exp, given] = m as unknown as [string, string, string, string];
  if (Number(exp) * 1000 <= nowMs) return undefined;
  const client = clients.get(clientId);
  if (!client) return undefined;
  const g = Buffer.from(given);
  return client.token_sha256.some((h) => {
    const want = Buffer.from(mac(h, `${clientId}.${exp}`));
    return want.length === g.length && crypto.timingSafeEqual(want, g);
  })
    ? client
    : undefined;
}

export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function sessionCookie(value: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=${SESSION_PATH}; Max-Age=${SESSION_TTL_SECONDS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=${SESSION_PATH}; Max-Age=0; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

/** Lets through only a browser holding an ops client's session cookie: 401 without one, 403 for other roles. */
export function requireOpsSession(clients: ClientRegistry, now: () => number) {
  return (req: Request, res: Response, next: NextFunction) => {
    const value = readCookie(req, SESSION_COOKIE);
    const client = value ? verifySession(value, clients, now()) : undefined;
    if (!client) {
      return next(
        unauthorized('SESSION_INVALID', {
          en: 'log in to the console (/console) with an ops token first',
          zh: '请先在控制台（/console）用运维令牌登录',
        }),
      );
    }
    if (client.role !== 'ops') {
      return next(
        forbidden({
          en: `the queue board is for ops clients; ${client.client_id} has role ${client.role}`,
          zh: `队列面板仅限运维角色；客户端 ${client.client_id} 的角色为 ${client.role}`,
        }),
      );
    }
    res.locals.client = client;
    next();
  };
}
