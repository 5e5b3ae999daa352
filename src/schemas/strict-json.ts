/**
 * The one way the gateway reads a JSON document a client sent: `JSON.parse`, plus the two things it
 * lets through that a signed body must not have.
 *
 * - **Duplicate member names.** `{"pay_amount":"900.00","pay_amount":"1.00"}` parses to 1.00, while
 *   the signed text also says 900.00: a signed body must have one meaning (RFC 8259 §4 leaves
 *   duplicates to the reader; I-JSON, RFC 7493 §2.3, forbids them). → 422 `DUPLICATE_KEY` at the
 *   member's JSON Pointer.
 * - **Nesting deeper than MAX_JSON_DEPTH.** `JSON.parse` itself copes (V8's parser is iterative:
 *   1,000,000 levels parse), but every later walk of the value must then be iterative too, and
 *   the parse of a few megabytes of `[` costs seconds. No exchange document is deeper than 5
 *   levels. → 422 `NESTING_TOO_DEEP` at the pointer of the first container past the limit,
 *   found before the parse runs.
 *
 * `JSON.parse` with a reviver cannot see duplicates (the later value simply replaces the earlier).
 * Of the libraries that can (measured on 100,000 feed records and on 100,000-level documents):
 * jsonc-parser and @humanwhocodes/momoa parse recursively and overflow the stack on the deep
 * documents this is also for; json-dup-key-validator (6x JSON.parse's time) and
 * @streamparser/json (~40x) are iterative but slow. So a small scanner, linear and iterative,
 * runs over the raw text beside the native parse, property-tested against JSON.parse
 * (test/unit/foundation/strict-json.test.ts).
 */
import type { FieldError, Lang } from './field-error';

/** Containers nested deeper than this are refused (the root object or array is level 1). */
export const MAX_JSON_DEPTH = 64;

export type StrictJsonCode = 'DUPLICATE_KEY' | 'NESTING_TOO_DEEP';
export interface StrictJsonFinding { code: StrictJsonCode; path: string }

const QUOTE = 0x22, BACKSLASH = 0x5c, COMMA = 0x2c;
const OPEN_OBJECT = 0x7b, CLOSE_OBJECT = 0x7d, OPEN_ARRAY = 0x5b, CLOSE_ARRAY = 0x5d;
/** Past this many members an object's names are looked up in a Set, not compared one by one. */
const SMALL_OBJECT = 32;

// The scanner's numeric state, reused across calls (it never calls out while it runs; a worker
// thread has its own module): frames by depth (array or object, where its names begin, its
// current index), and the names of the open objects, flat, as positions in the text.
let frameArray = new Uint8Array(MAX_JSON_DEPTH + 1);
let frameBase = new Int32Array(MAX_JSON_DEPTH + 1);
let frameIndex = new Int32Array(MAX_JSON_DEPTH + 1);
let nameStart = new Int32Array(256);
let nameLength = new Int32Array(256);

function pointerSegment(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function nameAt(text: string, nameText: string[] | undefined, k: number): string {
  return nameText ? nameText[k]! : text.slice(nameStart[k]!, nameStart[k]! + nameLength[k]!);
}

/** The pointer of the current member of every open container. */
function pathOf(text: string, nameText: string[] | undefined, depth: number, top: number): string {
  let p = '';
  for (let d = 0; d < depth; d++) {
    if (frameArray[d] === 1) { p += `/${frameIndex[d]}`; continue; }
    const last = (d + 1 < depth ? frameBase[d + 1]! : top) - 1;
    p += `/${last >= frameBase[d]! ? pointerSegment(nameAt(text, nameText, last)) : ''}`;
  }
  return p;
}

/**
 * Scans JSON text for a duplicate member name or nesting deeper than `maxDepth`, and returns the
 * first found (nesting is reported as soon as it is seen, so a deep document is not read further).
 * Over valid JSON it is exact; over text that is not JSON it stops or answers something harmless,
 * in linear time, and the parse that follows reports the text as malformed.
 *
 * Cost: about half of JSON.parse's on a feed record. Strings are skipped with indexOf; names are
 * compared in place (length, then characters) with the names before them in their object, and
 * only a text holding a backslash has its names decoded.
 */
export function scanJson(text: string, maxDepth = MAX_JSON_DEPTH): StrictJsonFinding | undefined {
  if (frameArray.length <= maxDepth) {
    const size = Math.min(maxDepth + 1, text.length + 1);
    if (frameArray.length < size) {
      frameArray = new Uint8Array(size); frameBase = new Int32Array(size); frameIndex = new Int32Array(size);
    }
  }
  const escapes = text.indexOf('\\') >= 0;
  let top = 0;
  let depth = 0;
  let expectName = false;
  // Strings are per call, so that no slice keeps a body alive: names decoded (texts with escapes
  // only), and the names of big objects. (No closures here: variables they capture would leave
  // the hot loop's registers.)
  const nameText: string[] | undefined = escapes ? [] : undefined;
  let frameSet: (Set<string> | undefined)[] | undefined;

  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = text.indexOf('"', i + 1);
      // A quote after an odd run of backslashes is escaped.
      while (j > 0 && text.charCodeAt(j - 1) === BACKSLASH) {
        let b = j - 1;
        while (text.charCodeAt(b) === BACKSLASH) b--;
        if ((j - 1 - b) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      if (j < 0) return undefined;
      if (expectName) {
        expectName = false;
        const d = depth - 1;
        const start = i + 1, len = j - start;
        let name: string | undefined;
        if (escapes) {
          name = text.slice(start, j);
          if (name.includes('\\')) {
            try { name = JSON.parse(text.slice(i, j + 1)) as string; } catch { return undefined; }
          }
        }
        let dup = false;
        const set = frameSet?.[d];
        if (set) {
          name ??= text.slice(start, j);
          dup = set.has(name);
          set.add(name);
        } else if (escapes) {
          for (let k = frameBase[d]!; k < top && !dup; k++) dup = nameText![k] === name;
        } else {
          for (let k = frameBase[d]!; k < top; k++) {
            if (nameLength[k] !== len) continue;
            const o = nameStart[k]!;
            let m = 0;
            while (m < len && text.charCodeAt(o + m) === text.charCodeAt(start + m)) m++;
            if (m === len) { dup = true; break; }
          }
        }
        if (top === nameStart.length) {
          const s2 = new Int32Array(top * 2); s2.set(nameStart); nameStart = s2;
          const l2 = new Int32Array(top * 2); l2.set(nameLength); nameLength = l2;
        }
        nameStart[top] = start; nameLength[top] = len;
        if (nameText) nameText[top] = name!;
        top++;
        if (dup) return { code: 'DUPLICATE_KEY', path: pathOf(text, nameText, depth, top) };
        if (!set && top - frameBase[d]! > SMALL_OBJECT) {
          const s = new Set<string>();
          for (let k = frameBase[d]!; k < top; k++) s.add(nameAt(text, nameText, k));
          (frameSet ??= [])[d] = s;
        }
      }
      i = j;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth >= maxDepth) return { code: 'NESTING_TOO_DEEP', path: pathOf(text, nameText, depth, top) };
      const array = c === OPEN_ARRAY;
      frameArray[depth] = array ? 1 : 0;
      frameBase[depth] = top;
      frameIndex[depth] = 0;
      if (frameSet) frameSet[depth] = undefined;
      depth++;
      expectName = !array;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (depth === 0 || frameArray[depth - 1] !== (c === CLOSE_ARRAY ? 1 : 0)) return undefined;
      depth--;
      top = frameBase[depth]!;
      if (frameSet) frameSet[depth] = undefined;
      expectName = false;
    } else if (c === COMMA && depth > 0) {
      if (frameArray[depth - 1] === 1) frameIndex[depth - 1]!++;
      else expectName = true;
    }
  }
  return undefined;
}

const MESSAGES: Record<StrictJsonCode, (path: string) => { en: string; zh: string }> = {
  DUPLICATE_KEY: (p) => ({ en: `the member ${p} appears more than once in its object; a signed body must have one meaning`, zh: `成员 ${p} 在同一对象中出现多次；签名的请求体只能有一种含义` }),
  NESTING_TOO_DEEP: () => ({ en: `nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays`, zh: `对象与数组嵌套超过 ${MAX_JSON_DEPTH} 层` }),
};

export function strictJsonError(f: StrictJsonFinding, lang: Lang, basePath = ''): FieldError {
  const m = MESSAGES[f.code](f.path);
  return { path: basePath + f.path, code: f.code, message: lang === 'zh-CN' ? m.zh : m.en };
}

export type StrictParse =
  | { ok: true; value: unknown }
  /** `malformed`: JSON.parse refused the text (400); otherwise a finding of scanJson (422). */
  | { ok: false; malformed: boolean; error: FieldError };

/**
 * Parses one JSON document strictly: too deep → refused before the parse; not JSON → malformed
 * (JSON.parse's message); a duplicate member name → refused with its path.
 */
export function parseStrictJson(text: string, lang: Lang = 'en', basePath = ''): StrictParse {
  const found = scanJson(text);
  if (found?.code === 'NESTING_TOO_DEEP') return { ok: false, malformed: false, error: strictJsonError(found, lang, basePath) };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, malformed: true, error: { path: basePath, code: 'malformed_json', message: (e as Error).message } };
  }
  if (found) return { ok: false, malformed: false, error: strictJsonError(found, lang, basePath) };
  return { ok: true, value };
}
