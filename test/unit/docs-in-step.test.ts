/**
 * docs/ is the integration guide a newcomer reads in a clone of the project; these tests keep it in
 * step with the code: every endpoint of the OpenAPI table, every discrepancy code, every problem code
 * the gateway can answer, and the worked signature example.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { ENDPOINTS } from '../../src/openapi/endpoints';
import { FINDING_CODES } from '../../src/matching/rules';
import { sign, SignatureVerifier, parseSignatureHeader } from '../../src/http/signature';
import { PROBLEM_BASE } from '../../src/http/problem';

const root = path.resolve(__dirname, '..', '..');
const guide = fs.readFileSync(path.join(root, 'docs', 'integration-guide.md'), 'utf8');
const problems = fs.readFileSync(path.join(root, 'docs', 'problems.md'), 'utf8');

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : [],
    );
}

/** The problem codes a client can meet: the top-level codes and the upper-case business-rule codes of errors[]. */
function problemCodesInSource(): string[] {
  const codes = new Set<string>();
  const findingCodes = new Set<string>(FINDING_CODES);
  for (const f of sourceFiles(path.join(root, 'src'))) {
    const text = fs.readFileSync(f, 'utf8');
    for (const re of [
      /new ProblemError\(\s*\d{3},\s*'([A-Z][A-Z0-9_]+)'/g,
      /unauthorized\(\s*'([A-Z][A-Z0-9_]+)'/g,
      /\bcode: '([A-Z][A-Z0-9_]+)'/g,
    ]) {
      for (const m of text.matchAll(re))
        if (!findingCodes.has(m[1]!) && !/^R\d\d$/.test(m[1]!) && !SYSTEM_ERRNO.has(m[1]!)) codes.add(m[1]!);
    }
  }
  return [...codes].sort();
}

/** Node's own error codes (a refused DNS answer made to look like the resolver's), never a problem code. */
const SYSTEM_ERRNO = new Set(['ENOTFOUND', 'ECONNREFUSED', 'ETIMEDOUT', 'EAI_AGAIN']);

const anchor = (code: string) => code.toLowerCase().replace(/_/g, '-');

test('when the gateway serves an endpoint, then the guide lists it in its endpoint index', () => {
  const missing = ENDPOINTS.map((e) => `\`${e.method.toUpperCase()} ${e.path.replace('{id}', '{id}')}\``).filter(
    (row) => !guide.includes(row),
  );
  expect(missing).toEqual([]);
});

test('when the loop can raise a discrepancy code, then the guide explains it', () => {
  expect(FINDING_CODES.filter((c) => !guide.includes(`| \`${c}\` |`))).toEqual([]);
});

test('when the gateway can answer a problem code, then docs/problems.md has the section its type links to', () => {
  const codes = problemCodesInSource();
  expect(codes.length).toBeGreaterThan(10);
  expect(codes.filter((c) => !problems.includes(`### ${anchor(c)}\n\`${c}\``))).toEqual([]);
  expect(PROBLEM_BASE).toBe('/docs/problems#');
});

test('when the worked signature example of the guide is recomputed, then it gives the signatures the guide prints', () => {
  const secret = /Secret `(whsec_[^`]+)`/.exec(guide)![1]!;
  const body = /```json\n(\{"insurer_code"[^\n]+)\n```/.exec(guide)![1]!;
  const id = /`webhook-id` `([^`]+)`/.exec(guide)![1]!;
  const ts = Number(/`webhook-timestamp` `(\d+)`/.exec(guide)![1]);
  const v1 = /webhook-signature: (v1,[^\s]+)/.exec(guide)![1]!;
  const sm3 = /(v1sm3,[A-Za-z0-9+/=]+)/.exec(guide)![1]!;
  expect(new Webhook(secret).sign(id, new Date(ts * 1000), body)).toBe(v1);
  expect(sign(secret, id, ts, body, 'v1')).toBe(v1);
  expect(sign(secret, id, ts, body, 'v1sm3')).toBe(sm3);
  const verifier = new SignatureVerifier([secret], parseSignatureHeader(`${v1} ${sm3}`), id, String(ts));
  verifier.update(Buffer.from(body));
  expect(verifier.verify()).toBe(true);
});
