/**
 * Where an agency feed's body waits while its signature is checked: in memory while it is small, in
 * a temporary file once it is not. The signature covers the whole body, so nothing may be parsed,
 * locked or written until the last byte has arrived and matched; the body must be kept somewhere
 * meanwhile, and memory would let a few unsigned 256 MiB bodies take the process down.
 *
 * The file is unlinked as soon as it is opened: only the descriptor holds it, so it disappears when
 * the spool is disposed or the process dies, whatever path the request took.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';

export class FeedSpool extends Writable {
  private chunks: Buffer[] = [];
  private held = 0;
  private fd: number | undefined;
  private written = 0;
  private disposed = false;
  /** The write in progress: the descriptor is closed only after it (a closed number can be reused at once). */
  private writing: Promise<void> | undefined;
  private readonly readers: Readable[] = [];

  /** `memoryBytes`: bodies up to this stay in memory; `dir`: where larger ones go. */
  constructor(
    private readonly dir: string,
    private readonly memoryBytes: number,
  ) {
    super();
  }

  /** Bytes spooled so far. */
  get bytes(): number {
    return this.fd === undefined ? this.held : this.written;
  }

  /** Whether the body went to disk (for tests and logs). */
  get onDisk(): boolean {
    return this.fd !== undefined;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.disposed) return cb(new Error('feed spool disposed'));
    if (this.fd === undefined && this.held + chunk.length <= this.memoryBytes) {
      this.chunks.push(chunk);
      this.held += chunk.length;
      return cb();
    }
    this.writing = this.toDisk(chunk);
    this.writing.then(() => cb(), cb);
  }

  private async toDisk(chunk: Buffer): Promise<void> {
    if (this.fd === undefined) {
      const file = path.join(this.dir, `gw-feed-${crypto.randomUUID()}`);
      // Owner-only: the body carries personal data until it is gone.
      const fd = await new Promise<number>((resolve, reject) =>
        fs.open(file, 'wx+', 0o600, (e, d) => (e ? reject(e) : resolve(d))),
      );
      fs.unlink(file, () => undefined);
      if (this.disposed) {
        fs.close(fd, () => undefined);
        throw new Error('feed spool disposed');
      }
      this.fd = fd;
      const first = Buffer.concat(this.chunks);
      this.chunks = [];
      this.held = 0;
      await this.writeAll(first);
    }
    await this.writeAll(chunk);
  }

  private async writeAll(b: Buffer): Promise<void> {
    let off = 0;
    while (off < b.length) {
      const n = await new Promise<number>((resolve, reject) =>
        fs.write(this.fd!, b, off, b.length - off, this.written, (e, w) => (e ? reject(e) : resolve(w))),
      );
      off += n;
      this.written += n;
    }
  }

  /** The spooled body from its start (call once the body has been written whole). */
  reader(): Readable {
    const r =
      this.fd === undefined
        ? Readable.from(this.chunks, { objectMode: false })
        : // destroy() closes a stream's descriptor even with autoClose: false, and dispose() closes it too: a
          // second close shut whatever had reused the number — a PGlite relation file (feed-spool-descriptor.test.ts).
          fs.createReadStream('', {
            fd: this.fd,
            start: 0,
            autoClose: false,
            highWaterMark: 256 * 1024,
            fs: { read: fs.read, close: (_fd: number, cb: (e: null) => void) => cb(null) },
          });
    // A reader left unfinished (the feed stopped early) must not crash the process with an error no one hears.
    r.on('error', () => undefined);
    this.readers.push(r);
    return r;
  }

  /**
   * Frees the memory or closes (and so deletes) the file, once no read or write on it is in flight;
   * safe to call more than once.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.chunks = [];
    // fs streams wait for their read in flight before 'close'.
    await Promise.all(
      this.readers.map((r) =>
        r.closed
          ? undefined
          : new Promise((resolve) => {
              r.once('close', resolve);
              r.destroy();
            }),
      ),
    );
    await this.writing?.catch(() => undefined);
    if (this.fd !== undefined) {
      const fd = this.fd;
      this.fd = undefined;
      await new Promise((resolve) => fs.close(fd, resolve));
    }
  }
}
