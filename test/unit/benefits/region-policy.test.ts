import { join } from 'node:path';
import { DEFAULT_LOOP_PARAMS } from '../../../src/deadlines/params';
import { createRegionPolicies, loadRegionPolicies, RegionPolicyError } from '../../../src/benefits/region-policy';
import { shippedDocument, shippedSources } from './fixtures';

type Doc = Record<string, any>;
const withDoc = (file: string, doc: Doc) =>
  shippedSources()
    .filter((s) => s.file !== file)
    .concat({ file, text: JSON.stringify(doc) });

function errorOf(f: () => unknown): RegionPolicyError {
  try {
    f();
  } catch (e) {
    if (e instanceof RegionPolicyError) return e;
    throw e;
  }
  throw new Error('expected a RegionPolicyError');
}

describe('region policy files (regions/*.json)', () => {
  test('when the shipped regions directory is loaded, then all four policies load and validate', () => {
    const all = loadRegionPolicies(join(__dirname, '../../../regions'));
    expect(all.all.map((p) => p.id).sort()).toEqual([
      'dehong-5331',
      'jiaozuo-4108',
      'sample-district-9999',
      'ulanqab-1509',
    ]);
    expect(all.byId('jiaozuo-4108')!.benefits).toBeNull();
    expect(all.byId('ulanqab-1509')!.benefits!.annual_payout_limit!.toString()).toBe('120000.00');
    expect(all.byId('sample-district-9999')!.benefits!.annual_payout_limit!.toString()).toBe('89000.00');
  });

  test('when every parameter is read, then each one names its source', () => {
    for (const s of shippedSources()) {
      const doc = JSON.parse(s.text) as Doc;
      const sources: string[] = [];
      const walk = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') {
          const o = v as Doc;
          if ('value' in o || 'ratio' in o || 'amount' in o || 'ratio_delta' in o || 'starts' in o)
            sources.push(String(o.source));
          Object.values(o).forEach(walk);
        }
      };
      walk(doc);
      expect(sources.length).toBeGreaterThan(8);
      for (const src of sources) expect(src).toMatch(/^(00[0-4] |spec §|project choice)/);
    }
  });

  test('when an admdvs is looked up, then the longest matching prefix wins', () => {
    const district = shippedDocument('sample-district-9999');
    const sub: Record<string, any> = { ...shippedDocument('sample-district-9999'), id: 'sample-subdistrict-999901' };
    sub.admdvs_prefixes = { value: ['999901'], source: 'test' };
    const all = createRegionPolicies([
      ...withDoc('sample-district-9999.json', district),
      { file: 'sample-subdistrict-999901.json', text: JSON.stringify(sub) },
    ]);
    expect(all.regionFor('999901')!.id).toBe('sample-subdistrict-999901');
    expect(all.regionFor('999902')!.id).toBe('sample-district-9999');
    expect(all.regionFor('533102')!.id).toBe('dehong-5331');
    expect(all.regionFor('150902')!.id).toBe('ulanqab-1509');
    expect(all.regionFor('110105')).toBeUndefined();
    expect(all.regionFor('5331ab')).toBeUndefined();
  });

  test("when an admdvs has a region, then its loop parameters are the region's; otherwise the spec defaults", () => {
    const all = createRegionPolicies(shippedSources());
    expect(all.loopParamsFor('533102')).toEqual({ ...DEFAULT_LOOP_PARAMS });
    expect(all.loopParamsFor('533102').manual_due_working_days).toBe(20);
    expect(all.loopParamsFor('110105')).toBe(DEFAULT_LOOP_PARAMS);
  });

  test('when a band ratio breaks the schema, then start-up stops with the file and the JSON path', () => {
    const doc = shippedDocument('sample-district-9999');
    doc.benefits.segments[0].bands[1].ratio = '0.9O';
    const e = errorOf(() => createRegionPolicies(withDoc('sample-district-9999.json', doc)));
    expect(e.message).toContain('sample-district-9999.json');
    expect(e.jsonPath).toBe('/benefits/segments/0/bands/1/ratio');
  });

  test('when a parameter lacks its source, then the error names the object missing it', () => {
    const doc = shippedDocument('dehong-5331');
    delete doc.loop_params.grace_days.source;
    const e = errorOf(() => createRegionPolicies(withDoc('dehong-5331.json', doc)));
    expect([e.file, e.jsonPath]).toEqual(['dehong-5331.json', '/loop_params/grace_days']);
    expect(e.message).toContain('"source"');
  });

  test('when bands are out of order or the default segment is unknown, then the semantic check names the path', () => {
    const doc = shippedDocument('sample-district-9999');
    doc.benefits.segments[0].bands[2].from = '30000';
    expect(errorOf(() => createRegionPolicies(withDoc('sample-district-9999.json', doc))).jsonPath).toBe(
      '/benefits/segments/0/bands/2/from',
    );
    const doc2 = shippedDocument('ulanqab-1509');
    doc2.benefits.default_segment.value = 'nowhere';
    expect(errorOf(() => createRegionPolicies(withDoc('ulanqab-1509.json', doc2))).jsonPath).toBe(
      '/benefits/default_segment/value',
    );
  });

  test('when a payout cap has no amount, then the error points at the cap', () => {
    const doc = shippedDocument('ulanqab-1509');
    delete doc.benefits.yearly_cap.amount;
    const e = errorOf(() => createRegionPolicies(withDoc('ulanqab-1509.json', doc)));
    expect(e.jsonPath).toBe('/benefits/yearly_cap');
    expect(e.message).toContain('"amount"');
  });

  test('when a file is not JSON, or two regions claim one prefix, then the error names the file', () => {
    const broken = shippedSources().map((s) =>
      s.file === 'jiaozuo-4108.json' ? { ...s, text: s.text.slice(0, -3) } : s,
    );
    expect(() => createRegionPolicies(broken)).toThrow(/jiaozuo-4108\.json: \/ is not valid JSON/);
    const dup = { ...shippedDocument('jiaozuo-4108'), id: 'copy-4108' };
    const e = errorOf(() =>
      createRegionPolicies([...shippedSources(), { file: 'copy-4108.json', text: JSON.stringify(dup) }]),
    );
    expect(e.message).toMatch(
      /jiaozuo-4108\.json: \/admdvs_prefixes\/value\/0 prefix "4108" already belongs to copy-4108\.json/,
    );
  });

  test('when the id differs from the file name, then loading stops', () => {
    const doc = { ...shippedDocument('dehong-5331'), id: 'dehong' };
    expect(errorOf(() => createRegionPolicies(withDoc('dehong-5331.json', doc))).jsonPath).toBe('/id');
  });
});
