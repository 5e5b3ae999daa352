/**
 * A validated message in canonical form, driven by its schema: only the schema's properties are
 * kept (unknown ones are ignored), in the schema's order; amounts become two-decimal strings
 * ("12.30"), times become CST ISO 8601 ("2024-05-03T10:15:00+08:00"). Idempotency compares the
 * hash of this form, so `1234.5` and `"1234.50"`, or two key orders, are the same body.
 *
 * The feed normalises up to 100,000 records a request, so each schema is compiled once into a
 * tree of small functions, and amounts are padded as text (the schema has already checked them).
 */
import crypto from 'node:crypto';
import { parseWireTime, toCstIso } from '../time';
import { loadSchemaFiles, type SchemaName } from './validator';

type Node = Record<string, unknown>;
type Fn = (v: unknown) => unknown;

const files = loadSchemaFiles();
const defs = (files.defs as unknown as { $defs: Record<string, Node> }).$defs;

/** A validated amount (≤ 2 decimals, no exponent) as a two-decimal string. */
export function amountText(v: string | number): string {
  const s = typeof v === 'number' ? String(v) : v;
  const dot = s.indexOf('.');
  if (dot < 0) return `${s}.00`;
  const dec = s.length - dot - 1;
  return dec === 2 ? s : dec === 1 ? `${s}0` : `${s}.00`.slice(0, dot + 3);
}

const PLATFORM = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const CANONICAL = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/;

/** A validated wire time as CST ISO text; the platform's form is already CST, so it is only re-punctuated. */
export function cstTimeText(s: string): string {
  if (CANONICAL.test(s)) return s;
  if (PLATFORM.test(s)) return `${s.slice(0, 10)}T${s.slice(11)}+08:00`;
  return toCstIso(parseWireTime(s)!);
}

function compile(schema: Node): Fn {
  const ref = schema.$ref as string | undefined;
  const def = ref?.startsWith('defs.schema.json#/$defs/') ? ref.slice('defs.schema.json#/$defs/'.length) : undefined;
  const node = def ? defs[def]! : schema;
  if (def === 'Amount') return (v) => amountText(v as string | number);
  if (def === 'Time') return (v) => cstTimeText(v as string);
  if (node.type === 'object' && node.properties) {
    const props = Object.entries(node.properties as Record<string, Node>).map(([k, sub]) => [k, compile(sub)] as const);
    return (v) => {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
      const out: Record<string, unknown> = {};
      for (const [k, f] of props) {
        const val = (v as Record<string, unknown>)[k];
        if (val !== undefined) out[k] = f(val);
      }
      return out;
    };
  }
  if (node.type === 'array' && node.items) {
    const item = compile(node.items as Node);
    return (v) => (Array.isArray(v) ? v.map(item) : v);
  }
  return (v) => v;
}

const compiled = new Map<SchemaName, Fn>();

/** Canonical form of a message that already passed `SchemaValidator.validate(name, …)`. */
export function normalize<T>(name: SchemaName, data: unknown): T {
  let f = compiled.get(name);
  if (!f) { f = compile(files[name]! as Node); compiled.set(name, f); }
  return f(data) as T;
}

/** Hash of a normalised message. Its keys follow the schema's order, so its JSON text is canonical. */
export function contentHash(normalized: unknown): string {
  return crypto.createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
}
