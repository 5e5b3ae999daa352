/**
 * Rate limits (spec §1: 429 with Retry-After), keyed only on what the gateway has verified.
 *
 * - Every request to the API first spends one point of its remote address's budget, before any
 *   credential is looked at. A request that then proves a client (a signature that verifies, a
 *   known bearer token) gets that point back and spends one of the client's budget instead. So the
 *   address budget measures exactly the traffic that proved nobody — unauthenticated requests and
 *   failed authentications — and a client's budget only the requests that really were that client.
 * - A claimed `x-client-id` is never a key: before this, unsigned requests naming a victim spent
 *   the victim's budget, and a new made-up id per request was never limited at all.
 *
 * The verification points (auth.ts, deep inside the write handlers) reach the limiter through
 * `res.locals`, which this module's middleware fills for the request.
 */
import type { NextFunction, Request, Response } from 'express';
import net from 'node:net';
import { RateLimiterMemory, type RateLimiterRes } from 'rate-limiter-flexible';
import { tooManyRequests } from './problem';

export interface RateLimitSettings {
  /** Requests per verified client per second. */
  perClientPerSecond: number;
  /** Requests per remote address per second that prove no client (unauthenticated or failed authentication). */
  unverifiedPerAddressPerSecond: number;
}

interface Admission {
  /** Move this request's point from its address to `clientId`; throws a 429 problem over the client's budget. */
  admit(clientId: string): Promise<void>;
}

const retryAfter = (r: unknown) =>
  tooManyRequests(Math.max(1, Math.ceil(((r as RateLimiterRes).msBeforeNext ?? 1000) / 1000)));

/**
 * The key of a remote address: an IPv4 address as it is (also when mapped into IPv6), an IPv6
 * address by its /64 — one host usually holds a whole /64, so single IPv6 addresses are free to rotate.
 */
export function addressKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(ip)) return ip;
  const [head, tail] = ip.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

export class RateLimits {
  private readonly clients: RateLimiterMemory;
  private readonly addresses: RateLimiterMemory;

  constructor(s: RateLimitSettings) {
    this.clients = new RateLimiterMemory({ points: s.perClientPerSecond, duration: 1, keyPrefix: 'client' });
    this.addresses = new RateLimiterMemory({
      points: s.unverifiedPerAddressPerSecond,
      duration: 1,
      keyPrefix: 'address',
    });
  }

  /** Middleware: charge the address, and leave the way to move the charge to a verified client. */
  middleware() {
    return (req: Request, res: Response, next: NextFunction) => {
      const address = addressKey(req.ip ?? req.socket.remoteAddress);
      this.addresses.consume(address).then(
        (charged) => {
          // The point belongs to the window it was spent in; after that window it is gone anyway
          // (giving it back then would make room in the next one).
          const windowEnds = Date.now() + charged.msBeforeNext;
          let admitted = false;
          const admission: Admission = {
            admit: async (clientId) => {
              if (admitted) return;
              admitted = true;
              if (Date.now() < windowEnds) await this.addresses.reward(address);
              await this.clients.consume(clientId).catch((r: unknown) => {
                throw retryAfter(r);
              });
            },
          };
          res.locals.admission = admission;
          next();
        },
        (r: unknown) => next(retryAfter(r)),
      );
    };
  }
}

/**
 * Called once a request has proved its client: moves its charge to that client's budget (429 when
 * spent). A no-op in apps assembled without the limiter (some tests build routers alone).
 */
export async function admitVerifiedClient(res: Response, clientId: string): Promise<void> {
  const admission = res.locals.admission as Admission | undefined;
  if (admission) await admission.admit(clientId);
}
