/**
 * src/platform/detail-file.ts alone (spec §9, 9101/3202/9102), no I/O: how `fsUploadIn.in` arrives,
 * the zip around a detail file and its limits, table 200 line by line (every refusal names the line
 * and the field), table 201 and the zip of a result.
 *
 * parseTable200 is a hand-written one-pass scanner (for speed: bench/platform-3202.ts); the
 * `reference` below is the plain regex-and-split parser it replaced, kept here as the model — on
 * generated files, made of the pieces that matter (tabs, CR, blank lines, BOM, spaces, bad amounts,
 * repeats, a header), both give the same rows or the same refusal.
 */
import fc from 'fast-check';
import { Zip, ZipDeflate, unzipSync, zipSync } from 'fflate';
import {
  DETAIL_LIMITS,
  MAX_ENTRIES,
  MAX_RATIO,
  TABLE_200,
  TABLE_201,
  decodeUploadIn,
  fileContent,
  isZipName,
  parseTable200,
  writeTable201,
  zipOne,
  type DetailLimits,
  type DetailRow,
  type Parsed,
  type ResultRow,
} from '../../../src/platform/detail-file';

const IN = 'input.fsUploadIn.in';
const utf8 = (s: string) => Buffer.from(s, 'utf8');
const parse = (s: string, limits?: DetailLimits) => parseTable200(utf8(s), limits);
const refusal = (r: Parsed<unknown>) => (r.ok ? undefined : { field: r.field, message: r.message });
const LINE = 'S1\tM1\tP1\t100.00\t80.00\t0.00\t0';

describe('table 200: good lines', () => {
  test('seven tab-separated columns give a row, amounts and ids as written, the line numbered from 1', () => {
    const r = parse(`${LINE}\nS2\tM2\tP2\t-5\t-4.5\t0\t1\n`);
    expect(r).toEqual({
      ok: true,
      value: [
        {
          line: 1,
          setl_id: 'S1',
          mdtrt_id: 'M1',
          psn_no: 'P1',
          medfee_sumamt: '100.00',
          fund_pay_sumamt: '80.00',
          acct_pay: '0.00',
          refd_setl_flag: '0',
        },
        {
          line: 2,
          setl_id: 'S2',
          mdtrt_id: 'M2',
          psn_no: 'P2',
          medfee_sumamt: '-5',
          fund_pay_sumamt: '-4.5',
          acct_pay: '0',
          refd_setl_flag: '1',
        },
      ],
    });
  });

  test('CRLF line ends, a UTF-8 BOM and no final newline read the same as LF', () => {
    const lf = parse(`${LINE}\nS2\tM2\tP2\t1\t1\t1\t0\n`);
    expect(parse(`\ufeff${LINE}\r\nS2\tM2\tP2\t1\t1\t1\t0`)).toEqual(lf);
    expect(
      parseTable200(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(`${LINE}\r\nS2\tM2\tP2\t1\t1\t1\t0\r\n`)])),
    ).toEqual(lf);
  });

  test('blank lines (also only spaces, tabs or an ideographic space) are skipped and still counted', () => {
    const r = parse(`\n  \n\t\t\n\u3000\r\n${LINE}\n\n`);
    expect(r.ok && r.value.map((x) => [x.line, x.setl_id])).toEqual([[5, 'S1']]);
  });

  test('a first line naming the columns is skipped; the same words later are a bad line', () => {
    const header = TABLE_200.join('\t');
    const r = parse(`${header}\n${LINE}\n`);
    expect(r.ok && r.value.map((x) => x.line)).toEqual([2]);
    expect(parse('setl_id\n' + LINE).ok).toBe(true);
    expect(refusal(parse(`${LINE}\n${header}\n`))).toEqual({
      field: `${IN} 第 2 行 medfee_sumamt`,
      message: '金额格式不正确：medfee_sumamt（元，最多两位小数）',
    });
  });

  test('fields are trimmed (spaces, a no-break space), ids may be any text of 1–30 characters but control characters', () => {
    const r = parse(' S1 \t\u00a0M1\tP-甲乙\t 1.5 \t1\t0\t 1 ');
    expect(r.ok && r.value[0]).toMatchObject({
      setl_id: 'S1',
      mdtrt_id: 'M1',
      psn_no: 'P-甲乙',
      medfee_sumamt: '1.5',
      refd_setl_flag: '1',
    });
    expect(parse(`${'x'.repeat(30)}\tM\tP\t1\t1\t1\t0`).ok).toBe(true);
  });

  test('the same setl_id once as a settlement and once as its refund is two lines, not a repeat', () => {
    const r = parse('S1\tM1\tP1\t10\t8\t0\t0\nS1\tM1\tP1\t-10\t-8\t0\t1');
    expect(r.ok && r.value.length).toBe(2);
  });

  test('amounts: 0, -0, 14 integer digits, one or two decimals', () => {
    for (const a of ['0', '-0', '0.5', '0.05', '12.30', '-12.3', '99999999999999.99', '-99999999999999']) {
      expect([a, parse(`S\tM\tP\t${a}\t0\t0\t0`).ok]).toEqual([a, true]);
    }
  });
});

describe('table 200: bad lines are refused naming the line and the field', () => {
  test.each([
    ['six columns', 'S1\tM1\tP1\t1\t1\t0', `${IN} 第 1 行`, '实有 6 列'],
    ['eight columns', `${LINE}\tx`, `${IN} 第 1 行`, '实有 8 列'],
    ['one column (comma-separated)', 'S1,M1,P1,1,1,0,0', `${IN} 第 1 行`, '实有 1 列'],
    ['an empty setl_id', '\tM1\tP1\t1\t1\t0\t0', `${IN} 第 1 行 setl_id`, '1–30'],
    ['a 31-character mdtrt_id', `S1\t${'m'.repeat(31)}\tP1\t1\t1\t0\t0`, `${IN} 第 1 行 mdtrt_id`, '1–30'],
    ['a control character in psn_no', 'S1\tM1\tP\u00011\t1\t1\t0\t0', `${IN} 第 1 行 psn_no`, '1–30'],
    ['a CR inside a line', 'S1\rX\tM1\tP1\t1\t1\t0\t0', `${IN} 第 1 行 setl_id`, '1–30'],
    ['three decimals', 'S1\tM1\tP1\t1.005\t1\t0\t0', `${IN} 第 1 行 medfee_sumamt`, '金额格式不正确：1.005'],
    ['a thousands separator', 'S1\tM1\tP1\t1\t1,000.00\t0\t0', `${IN} 第 1 行 fund_pay_sumamt`, '1,000.00'],
    ['a leading zero', 'S1\tM1\tP1\t1\t1\t01\t0', `${IN} 第 1 行 acct_pay`, '01'],
    ['a plus sign', 'S1\tM1\tP1\t+1\t1\t0\t0', `${IN} 第 1 行 medfee_sumamt`, '+1'],
    ['a bare point', 'S1\tM1\tP1\t1.\t1\t0\t0', `${IN} 第 1 行 medfee_sumamt`, '1.'],
    ['no integer part', 'S1\tM1\tP1\t.5\t1\t0\t0', `${IN} 第 1 行 medfee_sumamt`, '.5'],
    ['15 integer digits', 'S1\tM1\tP1\t100000000000000\t1\t0\t0', `${IN} 第 1 行 medfee_sumamt`, '100000000000000'],
    ['an empty amount', 'S1\tM1\tP1\t\t1\t0\t0', `${IN} 第 1 行 medfee_sumamt`, '金额格式不正确：（'],
    ['full-width digits', 'S1\tM1\tP1\t１\t1\t0\t0', `${IN} 第 1 行 medfee_sumamt`, '１'],
    ['a refund flag of 2', 'S1\tM1\tP1\t1\t1\t0\t2', `${IN} 第 1 行 refd_setl_flag`, '实为 2'],
    ['a refund flag of Y', 'S1\tM1\tP1\t1\t1\t0\tY', `${IN} 第 1 行 refd_setl_flag`, '实为 Y'],
  ])('%s', (_name, text, field, message) => {
    const r = refusal(parse(`${LINE.replace('S1', 'S0')}\n${text}\n`));
    expect(r?.field).toBe(field.replace('第 1 行', '第 2 行'));
    expect(r?.message).toContain(message);
  });

  test('the first bad field of a line is the one named (ids, then amounts, then the flag)', () => {
    expect(refusal(parse('\tM\tP\tx\t1\t0\t9'))?.field).toBe(`${IN} 第 1 行 setl_id`);
    expect(refusal(parse('S\tM\tP\tx\ty\t0\t9'))?.field).toBe(`${IN} 第 1 行 medfee_sumamt`);
  });

  test('a long bad value is cut in the message', () => {
    const r = refusal(parse(`S\tM\tP\t${'9'.repeat(100)}\t1\t0\t0`));
    expect(r?.message).toBe(`金额格式不正确：${'9'.repeat(20)}（元，最多两位小数）`);
  });

  test('a repeated settlement names both lines', () => {
    expect(refusal(parse(`${LINE}\nS2\tM2\tP2\t1\t1\t0\t0\n\nS1\tMx\tPx\t5\t5\t0\t0`))).toEqual({
      field: `${IN} 第 4 行 setl_id`,
      message: '结算 S1（退费结算标志 0）与第 1 行重复',
    });
    expect(refusal(parse('S1\tM\tP\t-1\t-1\t0\t1\nS1\tM\tP\t-1\t-1\t0\t1'))?.message).toBe(
      '结算 S1（退费结算标志 1）与第 1 行重复',
    );
  });

  test('a GBK file is not UTF-8: refused naming the first line with a byte that is not', () => {
    // 张三 in GBK: D5 C5 C8 FD.
    const gbk = Buffer.concat([
      utf8(`${LINE}\nS2\tM2\t`),
      Buffer.from([0xd5, 0xc5, 0xc8, 0xfd]),
      utf8('\t1\t1\t0\t0\n'),
    ]);
    expect(refusal(parseTable200(gbk))).toEqual({ field: `${IN} 第 2 行`, message: expect.stringContaining('GBK') });
    // UTF-8 Chinese on line 1 does not count as the bad line.
    const mixed = Buffer.concat([
      utf8(`S1\tM1\t张三\t1\t1\t0\t0\n\nS3\t`),
      Buffer.from([0xc8, 0xfd]),
      utf8('\tP\t1\t1\t0\t0'),
    ]);
    expect(refusal(parseTable200(mixed))?.field).toBe(`${IN} 第 3 行`);
  });

  test('an empty file, or one of blank lines and a header only, has no lines', () => {
    for (const s of ['', '\n\r\n  \n', `${TABLE_200.join('\t')}\n`, '\ufeff'])
      expect(refusal(parse(s))).toEqual({ field: IN, message: '文件没有明细行' });
  });

  test('more lines than maxRows are refused at the first one over', () => {
    const limits = { ...DETAIL_LIMITS, maxRows: 2 };
    expect(parse('A\tM\tP\t1\t1\t0\t0\nB\tM\tP\t1\t1\t0\t0', limits).ok).toBe(true);
    expect(refusal(parse('A\tM\tP\t1\t1\t0\t0\nB\tM\tP\t1\t1\t0\t0\n\nC\tM\tP\t1\t1\t0\t0', limits))).toEqual({
      field: `${IN} 第 4 行`,
      message: '明细超过 2 行',
    });
  });

  test('a file of many lines without a tab is refused at once (the scan stays within each line)', () => {
    const t0 = performance.now();
    expect(refusal(parse('setl_id\n'.repeat(200_000) + 'x'))?.field).toBe(`${IN} 第 200001 行`);
    expect(performance.now() - t0).toBeLessThan(2_000);
  });
});

/** The parser parseTable200 replaced (regex and split per line): the model of what it must answer. */
function reference(content: Uint8Array, limits: DetailLimits = DETAIL_LIMITS): Parsed<DetailRow[]> {
  const AMOUNT = /^-?(0|[1-9][0-9]{0,13})(\.[0-9]{1,2})?$/;
  const ID = /^[^\t\r\n\u0000-\u001f]{1,30}$/;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(content);
  } catch {
    return { ok: false, field: 'utf8', message: '' };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  const rows: DetailRow[] = [];
  const seen = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const l = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (l.trim() === '') continue;
    const n = i + 1;
    const cols = l.split('\t');
    if (rows.length === 0 && cols[0] === 'setl_id') continue;
    const at = (c: string) => `${IN} 第 ${n} 行 ${c}`;
    if (cols.length !== 7)
      return {
        ok: false,
        field: `${IN} 第 ${n} 行`,
        message: `应有 7 列（${TABLE_200.join('、')}，以制表符分隔），实有 ${cols.length} 列`,
      };
    const [setl_id, mdtrt_id, psn_no, medfee, fund, acct, flag] = cols.map((c) => c.trim()) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    for (const [name, v] of [
      ['setl_id', setl_id],
      ['mdtrt_id', mdtrt_id],
      ['psn_no', psn_no],
    ] as const)
      if (!ID.test(v)) return { ok: false, field: at(name), message: '应为 1–30 个字符的编号' };
    for (const [name, v] of [
      ['medfee_sumamt', medfee],
      ['fund_pay_sumamt', fund],
      ['acct_pay', acct],
    ] as const) {
      if (!AMOUNT.test(v))
        return { ok: false, field: at(name), message: `金额格式不正确：${v.slice(0, 20)}（元，最多两位小数）` };
    }
    if (flag !== '0' && flag !== '1')
      return { ok: false, field: at('refd_setl_flag'), message: `退费结算标志应为 0 或 1，实为 ${flag.slice(0, 10)}` };
    const key = `${setl_id}\t${flag}`;
    const before = seen.get(key);
    if (before !== undefined)
      return {
        ok: false,
        field: at('setl_id'),
        message: `结算 ${setl_id}（退费结算标志 ${flag}）与第 ${before} 行重复`,
      };
    seen.set(key, n);
    if (rows.length >= limits.maxRows)
      return { ok: false, field: `${IN} 第 ${n} 行`, message: `明细超过 ${limits.maxRows} 行` };
    rows.push({
      line: n,
      setl_id,
      mdtrt_id,
      psn_no,
      medfee_sumamt: medfee,
      fund_pay_sumamt: fund,
      acct_pay: acct,
      refd_setl_flag: flag,
    });
  }
  if (!rows.length) return { ok: false, field: IN, message: '文件没有明细行' };
  return { ok: true, value: rows };
}

describe('table 200: the one-pass parser answers as the regex-and-split model', () => {
  const piece = fc.constantFrom(
    'S1',
    'S2',
    'M',
    'P',
    '甲',
    ' ',
    '\u3000',
    '\u00a0',
    '\t',
    '\r',
    '\n',
    '\r\n',
    '\ufeff',
    '\u0001',
    '\u001f',
    '0',
    '1',
    '-',
    '.',
    '12',
    '3.45',
    '-0.5',
    '007',
    '1.234',
    'setl_id',
    'x'.repeat(29),
    '99999999999999.99',
  );
  const goodLine = fc
    .tuple(
      fc.constantFrom('S1', 'S2', 'S3', ' S1', 'setl_id'),
      fc.constantFrom('M1', '甲'),
      fc.constantFrom('P1', ' P '),
      fc.constantFrom('1', '-2.5', '0.00', ' 3.10 ', '1.234'),
      fc.constantFrom('0', '7.7'),
      fc.constantFrom('0', '-0'),
      fc.constantFrom('0', '1', ' 1', '2'),
    )
    .map((c) => c.join('\t'));
  const file = fc
    .array(
      fc.oneof(
        goodLine,
        fc.array(piece, { maxLength: 12 }).map((p) => p.join('')),
        fc.constant(''),
        fc.constant('   '),
      ),
      { maxLength: 8 },
    )
    .chain((lines) => fc.tuple(fc.constant(lines), fc.constantFrom('\n', '\r\n'), fc.boolean(), fc.boolean()))
    .map(([lines, eol, bom, last]) => `${bom ? '\ufeff' : ''}${lines.join(eol)}${last ? eol : ''}`);

  test('same rows, or the same refusal', () => {
    fc.assert(
      fc.property(file, fc.integer({ min: 1, max: 6 }), (text, maxRows) => {
        const limits = { ...DETAIL_LIMITS, maxRows };
        expect(parseTable200(utf8(text), limits)).toEqual(reference(utf8(text), limits));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('fsUploadIn.in', () => {
  test('a byte array (Java bytes may be signed) or base64 (whitespace allowed) gives the bytes', () => {
    expect(decodeUploadIn([0, 65, 255, -1, -128])).toEqual({ ok: true, value: Buffer.from([0, 65, 255, 255, 128]) });
    expect(decodeUploadIn('QUJD\nRA==')).toEqual({ ok: true, value: Buffer.from('ABCD') });
  });

  test.each([
    ['a number out of range', [1, 256], `${IN}[1]`],
    ['a fraction', [1.5], `${IN}[0]`],
    ['a string element', ['1'], `${IN}[0]`],
    ['base64 of a wrong length', 'QUJDR', IN],
    ['base64 with other characters', 'QU*D', IN],
    ['an object', { a: 1 }, IN],
    ['nothing', undefined, IN],
  ])('%s is refused', (_name, v, field) => {
    expect(refusal(decodeUploadIn(v))?.field).toBe(field);
  });
});

describe('zip: one file within the limits', () => {
  const content = utf8(`${LINE}\n`);

  test('a .zip name is unzipped (its one .txt; directories and __MACOSX entries are not files); another name is the file', () => {
    expect(isZipName('a.TXT.ZIP')).toBe(true);
    expect(fileContent(zipSync({ 'a.txt': content }), 'a.txt.zip')).toEqual({
      ok: true,
      value: new Uint8Array(content),
    });
    expect(
      fileContent(zipSync({ 'dir/': new Uint8Array(0), 'dir/a.txt': content, '__MACOSX/._a.txt': utf8('x') }), 'a.zip')
        .ok,
    ).toBe(true);
    expect(fileContent(content, 'a.txt')).toEqual({ ok: true, value: content });
  });

  test("a zip whose sizes follow the data (data descriptors, as Java's ZipOutputStream writes) is read", () => {
    const parts: Uint8Array[] = [];
    const z = new Zip((err, chunk) => {
      if (err) throw err;
      parts.push(chunk);
    });
    const f = new ZipDeflate('a.txt', { level: 6 });
    z.add(f);
    f.push(content, true);
    z.end();
    const zip = Buffer.concat(parts);
    expect(zip.readUInt16LE(6) & 0x08).toBe(0x08); // general purpose flag bit 3: sizes in a data descriptor
    expect(refusal(fileContent(zip, 'a.zip'))).toBeUndefined();
    const r = fileContent(zip, 'a.zip');
    expect(r.ok && Buffer.from(r.value).toString()).toBe(content.toString());
  });

  test.each([
    ['not a zip at all', () => utf8('PK? no'), /没有明细文件|无法解压/],
    ['a truncated zip', () => zipSync({ 'a.txt': utf8(LINE.repeat(200)) }).subarray(0, 60), /没有明细文件|无法解压/],
    ['an empty zip', () => zipSync({}), /没有明细文件/],
    ['two files', () => zipSync({ 'a.txt': content, 'b.txt': content }), /只含一个明细文件/],
    [
      `more than ${MAX_ENTRIES} entries`,
      () =>
        zipSync(Object.fromEntries(Array.from({ length: MAX_ENTRIES + 1 }, (_, i) => [`d${i}/`, new Uint8Array(0)]))),
      /条目过多/,
    ],
  ])('%s is refused naming the input', (_name, zip, message) => {
    const r = refusal(fileContent(zip(), 'a.txt.zip'));
    expect(r?.field).toBe(IN);
    expect(r?.message).toMatch(message);
  });

  test('a file over maxBytes is refused, plain or zipped (zipped: counted while inflating)', () => {
    const limits = { ...DETAIL_LIMITS, maxBytes: 2 * 1024 * 1024 };
    expect(refusal(fileContent(new Uint8Array(limits.maxBytes + 1), 'a.txt', limits))?.message).toMatch(/文件过大/);
    const big = new Uint8Array(limits.maxBytes + 1).fill(0x61);
    for (let i = 0; i < big.length; i += 97) big[i] = (i * 31) & 0xff; // not too compressible: under MAX_RATIO
    const zip = zipSync({ 'a.txt': big }, { level: 1 });
    expect(big.length / zip.length).toBeLessThan(MAX_RATIO);
    expect(refusal(fileContent(zip, 'a.zip', limits))?.message).toMatch(/解压后过大/);
  });

  test(`a bomb (inflating past ${MAX_RATIO}× the archive) is stopped early, whatever the entry's declared size`, () => {
    const zeros = new Uint8Array(8 * 1024 * 1024);
    const zip = zipSync({ 'a.txt': zeros }, { level: 9 });
    // Declare a small size in the local header and the central directory: not trusted.
    const lying = Buffer.from(zip);
    lying.writeUInt32LE(10, 22);
    const cd = lying.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    lying.writeUInt32LE(10, cd + 24);
    for (const z of [zip, lying]) {
      const t0 = performance.now();
      expect(refusal(fileContent(z, 'a.zip'))?.message).toMatch(/压缩比异常|压缩炸弹|无法解压/);
      expect(performance.now() - t0).toBeLessThan(3_000);
    }
  });
});

describe('table 201 and the result zip', () => {
  const row = (over: Partial<ResultRow> = {}): ResultRow => ({
    psn_no: 'P1',
    mdtrt_id: 'M1',
    setl_id: 'S1',
    msgid: 'm',
    stmt_rslt: '1',
    refd_setl_flag: '0',
    memo: '经办机构无此结算',
    medfee_sumamt: '1.00',
    fund_pay_sumamt: '0.50',
    acct_pay: '0.00',
    ...over,
  });

  test('one line per row in table 201 order, tabs and newlines inside a value replaced by spaces', () => {
    const text = Buffer.from(writeTable201([row(), row({ setl_id: 'S2', memo: 'a\tb\r\nc' })])).toString('utf8');
    expect(text.split('\n')).toEqual([
      TABLE_201.map((c) => row()[c]).join('\t'),
      TABLE_201.map((c) => row({ setl_id: 'S2', memo: 'a b  c' })[c]).join('\t'),
      '',
    ]);
    expect(writeTable201([])).toEqual(Buffer.alloc(0));
  });

  test('zipOne holds the one file, and fileContent reads it back', () => {
    const text = writeTable201([row()]);
    const zip = zipOne('3202_F1.txt', text);
    expect(Object.keys(unzipSync(zip))).toEqual(['3202_F1.txt']);
    expect(fileContent(zip, '3202_F1.txt.zip')).toEqual({ ok: true, value: new Uint8Array(text) });
  });
});
