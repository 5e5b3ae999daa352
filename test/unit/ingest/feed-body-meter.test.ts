/**
 * The feed's body meter checks UTF-8 chunk by chunk: whatever the chunks' boundaries, including in
 * the middle of a character, it must accept and refuse exactly the bodies a whole-body decoder does.
 */
import crypto from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BodyMeter } from '../../../src/ingest/feed-body-meter';

const bodies: [string, Buffer][] = [
  ['ASCII', Buffer.from('{"a":"b"}\n')],
  ['2-, 3- and 4-byte characters', Buffer.from('é张三𠮷€ß\n{"psn_name":"张三"}')],
  ['a lone continuation byte', Buffer.from([0x61, 0x80, 0x62])],
  ['a truncated 3-byte character at the end', Buffer.from([0x61, 0xe5, 0xbc])],
  ['a truncated 4-byte character at the end', Buffer.from([0xf0, 0xa0, 0xae])],
  ['an overlong encoding', Buffer.from([0x61, 0xc0, 0x80, 0x62])],
  ['an overlong 3-byte encoding', Buffer.from([0x61, 0xe0, 0x80, 0x80, 0x62])],
  ['a UTF-16 surrogate', Buffer.from([0x61, 0xed, 0xa0, 0x80, 0x62])],
  ['a code point above U+10FFFF', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
  ['0xFF and 0xFE', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
  ['a lead byte followed by ASCII', Buffer.from([0xe5, 0x61, 0x62, 0x63])],
];

const wholeIsUtf8 = (b: Buffer) => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
};

async function meter(chunks: Buffer[]): Promise<{ ok: boolean; out: Buffer; sha: string }> {
  const parts: Buffer[] = [];
  const m = new BodyMeter(1 << 20, () => undefined);
  m.on('data', (c: Buffer) => parts.push(c));
  const ok = await pipeline(Readable.from(chunks), m).then(
    () => true,
    (e: { status?: number }) => {
      expect(e.status).toBe(400);
      return false;
    },
  );
  return { ok, out: Buffer.concat(parts), sha: ok ? m.sha.digest('hex') : '' };
}

describe.each(bodies)('a body with %s', (_name, body) => {
  const expected = wholeIsUtf8(body);

  test('when it arrives cut at any one byte, then it is accepted exactly when it is UTF-8, and passed on unchanged', async () => {
    for (let cut = 0; cut <= body.length; cut++) {
      const r = await meter([body.subarray(0, cut), body.subarray(cut)]);
      expect({ cut, ok: r.ok }).toEqual({ cut, ok: expected });
      if (r.ok) {
        expect(r.out.equals(body)).toBe(true);
        expect(r.sha).toBe(crypto.createHash('sha256').update(body).digest('hex'));
      }
    }
  });

  test('when it arrives one byte at a time, then the verdict is the same', async () => {
    const r = await meter([...body].map((b) => Buffer.from([b])));
    expect(r.ok).toBe(expected);
  });
});

test('when the body passes the limit, then 413', async () => {
  const m = new BodyMeter(4, () => undefined);
  m.resume();
  await expect(pipeline(Readable.from([Buffer.from('abc'), Buffer.from('de')]), m)).rejects.toMatchObject({
    status: 413,
  });
});

test('when the UTF-8 verdict is deferred, then a bad body passes whole and the error waits in utf8Error', async () => {
  const body = Buffer.from([0x61, 0x80, 0x62, 0xe5]);
  const m = new BodyMeter(1 << 20, () => undefined, { deferUtf8: true });
  const parts: Buffer[] = [];
  m.on('data', (c: Buffer) => parts.push(c));
  await pipeline(Readable.from([body.subarray(0, 2), body.subarray(2)]), m);
  expect(Buffer.concat(parts).equals(body)).toBe(true);
  expect(m.utf8Error).toMatchObject({ status: 400 });
});
