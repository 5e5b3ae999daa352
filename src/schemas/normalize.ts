/**
 * A validated message in canonical form, driven by its schema: only the schema's properties are
 * kept (unknown ones are ignored), amounts become two-decimal strings ("12.30"), times become CST
 * ISO 8601 ("2024-05-03T10:15:00+08:00"). Idempotency compares the RFC 8785 canonical JSON of this
 * form, so `1234.5` and `"1234.50"` are the same body.
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import { Money } from '../money';
import { parseWireTime, toCstIso } from '../time';
import { loadSchemaFiles, type SchemaName } from './validator';

type Node = Record<string, unknown>;
const files = loadSchemaFiles();
const defs = (files.defs as unknown as { $defs: Record<string, Node> }).$defs;

function resolve(s: Node): { node: Node; def?: string } {
  const ref = s.$ref as string | undefined;
  if (ref?.startsWith('defs.schema.json#/$defs/')) {
    const def = ref.slice('defs.schema.json#/$defs/'.length);
    return { node: defs[def]!, def };
  }
  return { node: s };
}

function walk(schema: Node, v: unknown): unknown {
  const { node, def } = resolve(schema);
  if (def === 'Amount') return Money.of(v as string | number).toString();
  if (def === 'Time') return toCstIso(parseWireTime(v as string)!);
  if (node.type === 'object' && node.properties && v && typeof v === 'object' && !Array.isArray(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, sub] of Object.entries(node.properties as Record<string, Node>)) {
      const val = (v as Record<string, unknown>)[k];
      if (val !== undefined) out[k] = walk(sub, val);
    }
    return out;
  }
  if (node.type === 'array' && Array.isArray(v) && node.items) return v.map((x) => walk(node.items as Node, x));
  return v;
}

/** Canonical form of a message that already passed `SchemaValidator.validate(name, …)`. */
export function normalize<T>(name: SchemaName, data: unknown): T {
  return walk(files[name]! as Node, data) as T;
}

export function contentHash(normalized: unknown): string {
  return crypto.createHash('sha256').update(canonicalize(normalized) ?? '').digest('hex');
}
