/**
 * Reading a signed write's body, the cheap checks first: its media type (415), its bytes within the
 * limit (413, 400 when cut short), then UTF-8 and strict JSON (400; a member named twice or nesting
 * past 64 levels 422, src/schemas/strict-json.ts). Used by the ingest routes (src/ingest/routes.ts,
 * settlement-feed.ts).
 */
import type { Request } from 'express';
import getRawBody from 'raw-body';
import * as contentType from 'content-type';
import { badRequest, tooLarge, unprocessable } from './problem';
import type { Lang } from '../schemas/validator';
import { parseStrictJson } from '../schemas/strict-json';

export function mediaType(req: Request): string | undefined {
  try {
    return contentType.parse(req.headers['content-type'] ?? '').type;
  } catch {
    return undefined;
  }
}

export async function readBody(req: Request, limit: number, onChunk?: (b: Buffer) => void): Promise<Buffer> {
  try {
    const buf = await getRawBody(req, { limit, length: req.headers['content-length'] });
    onChunk?.(buf);
    return buf;
  } catch (e) {
    const err = e as { type?: string };
    if (err.type === 'entity.too.large') throw tooLarge(limit);
    throw badRequest({ en: 'the request body could not be read completely', zh: '请求体未能完整读取' });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as UTF-8 JSON, read strictly (src/schemas/strict-json.ts): 400 when it is not JSON, 422
 * with the member's path for a duplicate member name or nesting past MAX_JSON_DEPTH. Returns the
 * text too (the validator skips its text walk for a text without escapes).
 */
export function parseJson(buf: Buffer, lang: Lang = 'en'): { value: unknown; text: string } {
  let text: string;
  try {
    text = utf8.decode(buf);
  } catch {
    throw badRequest({ en: 'the body is not valid UTF-8', zh: '请求体不是有效的 UTF-8' });
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parsed = parseStrictJson(text, lang);
  if (parsed.ok) return { value: parsed.value, text };
  if (!parsed.malformed) throw unprocessable([parsed.error]);
  const message = parsed.error.message;
  throw badRequest({ en: `malformed JSON: ${message}`, zh: `JSON 格式错误：${message}` }, [parsed.error]);
}
