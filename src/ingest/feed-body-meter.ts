/**
 * The agency feed's body as it streams by: counted (refused past the limit), hashed, handed to the
 * signature check, and checked to be UTF-8 chunk by chunk, a character split between two chunks
 * being checked with the next one. The feed defers the UTF-8 verdict (`deferUtf8`): an unsigned body
 * is answered 401 whatever it holds, so the 400 waits until the signature has matched.
 */
import { isUtf8 } from 'node:buffer';
import crypto from 'node:crypto';
import { Transform } from 'node:stream';
import { badRequest, tooLarge, type ProblemError } from '../http/problem';

export const notUtf8 = () => badRequest({ en: 'the body is not valid UTF-8', zh: '请求体不是有效的 UTF-8' });

/**
 * Bytes at the end of `b` that begin a UTF-8 sequence the next chunk may complete (only a lead byte
 * that can start a valid sequence, and its continuation bytes); 0 when `b` ends on a character.
 */
function openSequence(b: Buffer): number {
  for (let k = 1; k <= 3 && k <= b.length; k++) {
    const c = b[b.length - k]!;
    if ((c & 0xc0) === 0x80) continue;
    const need = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 1;
    return need > k ? k : 0;
  }
  return 0;
}

/** Counts, hashes and signature-checks bytes as they pass; refuses more than `limit` and invalid UTF-8. */
export class BodyMeter extends Transform {
  bytes = 0;
  readonly sha = crypto.createHash('sha256');
  /** The start of a character split between chunks, checked with the next chunk. */
  private open: Buffer = Buffer.alloc(0);
  /** With `deferUtf8`, the body's UTF-8 error (the body still passes whole); else the stream fails with it. */
  utf8Error: ProblemError | undefined;
  constructor(
    private readonly limit: number,
    private readonly onChunk: (b: Buffer) => void,
    private readonly opts: { deferUtf8?: boolean } = {},
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null, d?: Buffer) => void) {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return cb(tooLarge(this.limit));
    if (!this.utf8Error) {
      // isUtf8 checks without decoding (a fatal TextDecoder built and dropped a string of the whole body).
      const data = this.open.length ? Buffer.concat([this.open, chunk]) : chunk;
      const open = openSequence(data);
      if (!isUtf8(data.subarray(0, data.length - open))) {
        if (!this.opts.deferUtf8) return cb(notUtf8());
        this.utf8Error = notUtf8();
      }
      this.open = Buffer.from(data.subarray(data.length - open));
    }
    this.sha.update(chunk);
    this.onChunk(chunk);
    cb(null, chunk);
  }
  override _flush(cb: (e?: Error | null) => void) {
    if (this.open.length && !this.utf8Error) {
      if (!this.opts.deferUtf8) return cb(notUtf8());
      this.utf8Error = notUtf8();
    }
    cb(null);
  }
}
