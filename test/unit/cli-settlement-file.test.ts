import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as iconv from 'iconv-lite';
import { detectEncoding, formatOf, readSettlementFile, rowToSettlement } from '../../src/cli/settlement-file';

const tmp = (name: string, data: string | Buffer) => {
  const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cli-file-')), name);
  fs.writeFileSync(f, data);
  return f;
};

describe('reading agency settlement files', () => {
  it('takes valid UTF-8 as UTF-8 and anything else as GBK', () => {
    expect(detectEncoding(Buffer.from('setl_id,psn_name\nS1,张三\n', 'utf8'))).toBe('utf-8');
    expect(detectEncoding(iconv.encode('setl_id,psn_name\nS1,张三\n', 'gbk'))).toBe('gbk');
  });

  it('tells the format from the extension unless one is given', () => {
    expect(formatOf('a.csv')).toBe('csv');
    expect(formatOf('a.jsonl')).toBe('ndjson');
    expect(formatOf('a.XLSX')).toBe('xlsx');
    expect(formatOf('a.dat', 'csv')).toBe('csv');
    expect(() => formatOf('a.dat')).toThrow(/--format/);
  });

  it('keeps amounts as written, reads referral as a boolean and setldetail as JSON, and omits empty cells', () => {
    expect(
      rowToSettlement({
        setl_id: ' S1 ',
        hifob_pay: '90000.5',
        referral: '是',
        setldetail: '[{"fund_pay_type":"330100"}]',
        certno: '',
        other: 'x',
      }),
    ).toEqual({
      record: { setl_id: 'S1', hifob_pay: '90000.5', referral: true, setldetail: [{ fund_pay_type: '330100' }] },
    });
  });

  it('reports a referral that is not a boolean and a setldetail that is not a JSON array', () => {
    expect(rowToSettlement({ referral: 'maybe', setldetail: '{"a":1}' }).errors!.map((e) => e.path)).toEqual([
      '/referral',
      '/setldetail',
    ]);
  });

  it('numbers CSV rows by the line they start on, past quoted line breaks and blank lines', async () => {
    const f = tmp('a.csv', 'setl_id,psn_name\nS1,"张\n三"\n\nS2,李四\nS3\n');
    const r = await readSettlementFile(f);
    expect(r.rows.map((x) => [x.line, x.record?.setl_id ?? x.errors![0]!.code])).toEqual([
      [2, 'S1'],
      [5, 'S2'],
      [6, 'column_count'],
    ]);
  });

  it('numbers NDJSON lines and reports a line that is not a JSON object', async () => {
    const f = tmp('a.ndjson', iconv.encode('{"setl_id":"S1","psn_name":"张三"}\n\n[1]\n{bad\n', 'gbk'));
    const r = await readSettlementFile(f);
    expect(r.encoding).toBe('gbk');
    expect(r.rows.map((x) => [x.line, x.record?.psn_name ?? x.errors![0]!.code])).toEqual([
      [1, '张三'],
      [3, 'not_object'],
      [4, 'malformed_json'],
    ]);
  });
});
