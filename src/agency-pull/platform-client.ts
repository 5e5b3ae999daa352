/**
 * The agency platform's settlement interface, as the gateway reads it (documented in README.md of
 * this folder): `GET {base}/settlements?admdvs=&limit=&cursor=` with `Authorization: Bearer`, answering
 * `{settlements: [...], next_cursor: string | null, has_more: boolean}`. Transient failures (network,
 * timeouts, 5xx, 429) are retried with exponential backoff; anything else fails at once.
 */
import axios, { type AxiosInstance } from 'axios';
import crypto from 'node:crypto';

export interface PullPage {
  records: unknown[];
  nextCursor: string | null;
  hasMore: boolean;
  /** SHA-256 of the page's raw bytes (the message log's body_sha256). */
  bodySha256: string;
  bodyBytes: number;
}

export interface PlatformClientOptions {
  baseUrl: string;
  token?: string;
  /** Tries per page before giving up (default 5). */
  maxAttempts?: number;
  /** First retry delay; doubles each time (default 1,000 ms). */
  baseDelayMs?: number;
  timeoutMs?: number;
  pageSize?: number;
}

export class PlatformError extends Error {
  constructor(
    message: string,
    readonly transient: boolean,
  ) {
    super(message);
  }
}

export class PlatformClient {
  private readonly http: AxiosInstance;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly pageSize: number;

  constructor(o: PlatformClientOptions) {
    this.http = axios.create({
      baseURL: o.baseUrl.replace(/\/+$/, ''),
      timeout: o.timeoutMs ?? 30_000,
      responseType: 'text',
      // Keep the raw text: we hash it, and parse it ourselves.
      transformResponse: (d) => d,
      validateStatus: () => true,
      headers: { accept: 'application/json', ...(o.token ? { authorization: `Bearer ${o.token}` } : {}) },
      maxRedirects: 0,
    });
    this.maxAttempts = o.maxAttempts ?? 5;
    this.baseDelayMs = o.baseDelayMs ?? 1000;
    this.pageSize = o.pageSize ?? 1000;
  }

  /** One page after `cursor` (null: from the beginning), retried while the failure is transient. */
  async page(
    admdvs: string,
    cursor: string | null,
    onRetry?: (attempt: number, err: Error) => void,
  ): Promise<PullPage> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.fetchOnce(admdvs, cursor);
      } catch (e) {
        const err = e instanceof PlatformError ? e : new PlatformError((e as Error).message, true);
        if (!err.transient || attempt >= this.maxAttempts) throw err;
        onRetry?.(attempt, err);
        await new Promise((r) => setTimeout(r, this.baseDelayMs * 2 ** (attempt - 1)));
      }
    }
  }

  private async fetchOnce(admdvs: string, cursor: string | null): Promise<PullPage> {
    const res = await this.http.get<string>('/settlements', {
      params: { admdvs, limit: this.pageSize, ...(cursor !== null ? { cursor } : {}) },
    });
    if (res.status >= 500 || res.status === 429)
      throw new PlatformError(`agency platform answered ${res.status}`, true);
    if (res.status !== 200) throw new PlatformError(`agency platform answered ${res.status}`, false);
    const text = typeof res.data === 'string' ? res.data : String(res.data);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new PlatformError('agency platform answered with malformed JSON', true);
    }
    const b = body as { settlements?: unknown; next_cursor?: unknown; has_more?: unknown };
    if (
      !b ||
      !Array.isArray(b.settlements) ||
      (b.next_cursor !== null && b.next_cursor !== undefined && typeof b.next_cursor !== 'string') ||
      typeof b.has_more !== 'boolean'
    ) {
      throw new PlatformError('agency platform page lacks settlements[], next_cursor or has_more', false);
    }
    if (b.has_more && typeof b.next_cursor !== 'string')
      throw new PlatformError('agency platform page has more but no next_cursor', false);
    const raw = Buffer.from(text, 'utf8');
    return {
      records: b.settlements,
      nextCursor: (b.next_cursor as string | null | undefined) ?? null,
      hasMore: b.has_more,
      bodySha256: crypto.createHash('sha256').update(raw).digest('hex'),
      bodyBytes: raw.length,
    };
  }
}
