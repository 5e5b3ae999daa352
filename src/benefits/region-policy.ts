import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject } from 'ajv';
import { DEFAULT_LOOP_PARAMS, type LoopParams } from '../deadlines/params';
import regionPolicySchema from '../../regions/region-policy.schema.json';
import { compileRegionPolicy, RegionPolicyError } from './compile-policy';
import type { RegionPolicy, RegionPolicyDocument } from './policy-types';

export { RegionPolicyError } from './compile-policy';
export type { RegionPolicy } from './policy-types';

/** One policy file's name and text, as read from regions/. */
export interface RegionPolicySource {
  file: string;
  text: string;
}

const ADMDVS_OR_PREFIX = /^[0-9]{2,6}$/;

/**
 * The region policies the gateway runs with, looked up by admdvs. Immutable once built: build it
 * at start-up (composition root) and pass it to whatever needs it.
 */
export class RegionPolicies {
  private readonly byPrefix: ReadonlyMap<string, RegionPolicy>;

  constructor(readonly all: readonly RegionPolicy[]) {
    const byPrefix = new Map<string, RegionPolicy>();
    for (const p of all) {
      p.admdvs_prefixes.forEach((prefix, i) => {
        const other = byPrefix.get(prefix);
        if (other)
          throw new RegionPolicyError(
            p.file,
            `/admdvs_prefixes/value/${i}`,
            `prefix "${prefix}" already belongs to ${other.file}`,
          );
        byPrefix.set(prefix, p);
      });
    }
    this.byPrefix = byPrefix;
  }

  /**
   * The region of an admdvs (spec §4: a settlement belongs to the region of its insuplc_admdvs):
   * the policy whose prefix is the longest matching prefix, or undefined. Accepts a 6-digit admdvs
   * (or a 2–6 digit prefix, as reconciliation runs take).
   */
  regionFor(admdvs: string): RegionPolicy | undefined {
    if (!ADMDVS_OR_PREFIX.test(admdvs)) return undefined;
    for (let n = admdvs.length; n >= 2; n--) {
      const p = this.byPrefix.get(admdvs.slice(0, n));
      if (p) return p;
    }
    return undefined;
  }

  /** The loop's deadline parameters for an admdvs: its region's, or the spec's defaults (§4). */
  loopParamsFor(admdvs: string): LoopParams {
    return this.regionFor(admdvs)?.loop_params ?? DEFAULT_LOOP_PARAMS;
  }

  byId(id: string): RegionPolicy | undefined {
    return this.all.find((p) => p.id === id);
  }
}

/**
 * Validates and compiles policy files (pure: no I/O). Throws a RegionPolicyError naming the file
 * and the JSON path of the first problem found.
 */
export function createRegionPolicies(sources: readonly RegionPolicySource[]): RegionPolicies {
  const ajv = new Ajv2020({ allErrors: false, strict: true });
  const validate = ajv.compile<RegionPolicyDocument>(regionPolicySchema);
  const policies = [...sources]
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    .map(({ file, text }) => {
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (e) {
        throw new RegionPolicyError(file, '', `is not valid JSON: ${(e as Error).message}`);
      }
      if (!validate(data)) {
        const err = mostSpecific(validate.errors ?? []);
        throw new RegionPolicyError(file, err?.instancePath ?? '', describe(err));
      }
      return compileRegionPolicy(file, data);
    });
  return new RegionPolicies(policies);
}

/** Reads every `*.json` policy in `dir` (not the `*.schema.json`), validates and compiles them. */
export function loadRegionPolicies(dir: string): RegionPolicies {
  const files = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json'));
  return createRegionPolicies(files.map((file) => ({ file, text: readFileSync(join(dir, file), 'utf8') })));
}

/** With oneOf/if-then, Ajv reports several errors; the deepest path is the one a person should fix. */
function mostSpecific(errors: readonly ErrorObject[]): ErrorObject | undefined {
  return errors.reduce<ErrorObject | undefined>(
    (best, e) => (best === undefined || e.instancePath.length > best.instancePath.length ? e : best),
    undefined,
  );
}

function describe(err: ErrorObject | undefined): string {
  if (!err) return 'does not match the region policy schema';
  const p = err.params as Record<string, unknown>;
  if (err.keyword === 'additionalProperties') return `has an unknown property "${String(p.additionalProperty)}"`;
  if (err.keyword === 'required') return `is missing the property "${String(p.missingProperty)}"`;
  return `${err.message ?? 'is invalid'} (schema ${err.schemaPath})`;
}
