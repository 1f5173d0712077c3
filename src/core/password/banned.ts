/**
 * Banned-password scoring, after Entra Password Protection: normalise the password, find banned
 * terms within edit distance 1 anywhere in it (and the person's names as plain substrings),
 * then score 1 point per term found plus 1 per character left over. Under 5 points is refused.
 *
 * Terms are found with a deletion index (every term and each of its one-character deletions,
 * with the deleted position), so one lookup per candidate substring and per one-character
 * deletion of it answers "is there a term at distance ≤ 1" exactly, without scanning the list;
 * lookups go by rolling hash, so the search itself builds no strings.
 * A character added at either end of a term is not a fuzzy match but a leftover character.
 * The score is the minimum over every way of covering the password with found terms (a small
 * dynamic programme), so the most generous reading for an attacker is the one that counts.
 */

/**
 * Substitutions people use to dress up a word. Digits that stand for letters are mapped
 * (0→o, 1→l, 3→e, 4→a, 5→s, 7→t, 8→b) as are common symbols ($→s, @→a, !→i, |→l, +→t).
 * Each maps one character to one, so the count of leftover characters is unchanged.
 */
const SUBSTITUTIONS: Record<string, string> = { '0': 'o', '1': 'l', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', $: 's', '@': 'a', '!': 'i', '|': 'l', '+': 't' };

export function normalizeForBanned(s: string): string {
  let out = '';
  for (const ch of s.normalize('NFKC').toLocaleLowerCase()) out += SUBSTITUTIONS[ch] ?? ch;
  return out;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The normalised code points of a password, each with the span of the input it came from, so
 * a term found can be shown as the person typed it. Normalised one grapheme at a time; when
 * that reads differently from the whole (a Greek final sigma), the whole is used and every
 * code point points at the whole input.
 */
function normalizedWithOrigin(password: string): { cps: number[]; from: number[]; to: number[] } {
  const cps: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  for (const g of graphemes.segment(password)) {
    for (const ch of normalizeForBanned(g.segment)) {
      cps.push(ch.codePointAt(0)!);
      from.push(g.index);
      to.push(g.index + g.segment.length);
    }
  }
  const whole = [...normalizeForBanned(password)].map((c) => c.codePointAt(0)!);
  if (whole.length === cps.length && whole.every((c, i) => c === cps[i])) return { cps, from, to };
  return { cps: whole, from: whole.map(() => 0), to: whole.map(() => password.length) };
}

export const MIN_SCORE = 5;
/** terms shorter than this are not searched, fuzzy matches never shorter than this count */
export const MIN_TERM = 4;

interface Entry {
  term: string;
  /** deleted position, or -1 for the term itself */
  pos: number;
  /** the indexed string: the term, or the term without the character at pos */
  key: string;
}

/**
 * Polynomial hashing mod 2^32 over code points: every substring and every one-character
 * deletion of it is hashed in O(1) from prefix hashes, so the search builds no strings. A hash
 * hit is confirmed by comparing the strings, so collisions can cost time but never a wrong answer.
 */
const BASE = 0x01000193;
const mul = (a: number, b: number) => Math.imul(a, b) >>> 0;
const POW: number[] = [1];
const pow = (n: number): number => {
  while (POW.length <= n) POW.push(mul(POW[POW.length - 1]!, BASE));
  return POW[n]!;
};

function hashOf(cps: readonly number[]): number {
  let h = 0;
  for (const c of cps) h = (mul(h, BASE) + c) >>> 0;
  return h;
}

/** prefix hashes of a password, P[i] = hash of its first i code points */
export function prefixHashes(cps: readonly number[]): Uint32Array {
  const p = new Uint32Array(cps.length + 1);
  for (let i = 0; i < cps.length; i++) p[i + 1] = (mul(p[i]!, BASE) + cps[i]!) >>> 0;
  return p;
}

const range = (p: Uint32Array, x: number, y: number): number => (p[y]! - mul(p[x]!, pow(y - x))) >>> 0;
const text = (cps: readonly number[], from: number, to: number, skip = -1): string => {
  let out = '';
  for (let i = from; i < to; i++) if (i !== skip) out += String.fromCodePoint(cps[i]!);
  return out;
};

export class BannedIndex {
  /** key: the hash of a term or of a one-deletion variant of it */
  private readonly index = new Map<number, Entry[]>();
  private readonly lengthList: number[];
  readonly size: number;

  constructor(terms: Iterable<string>) {
    const unique = new Set<string>();
    for (const raw of terms) {
      const t = normalizeForBanned(raw.trim());
      if ([...t].length >= MIN_TERM) unique.add(t);
    }
    const lengths = new Set<number>();
    for (const t of unique) {
      const cps = [...t].map((c) => c.codePointAt(0)!);
      this.add(hashOf(cps), { term: t, pos: -1, key: t });
      for (let i = 0; i < cps.length; i++) {
        const variant = [...cps.slice(0, i), ...cps.slice(i + 1)];
        this.add(hashOf(variant), { term: t, pos: i, key: String.fromCodePoint(...variant) });
      }
      for (const d of [-1, 0, 1]) if (cps.length + d >= MIN_TERM) lengths.add(cps.length + d);
    }
    this.lengthList = [...lengths].sort((x, y) => x - y);
    this.size = unique.size;
  }

  private add(h: number, e: Entry): void {
    const list = this.index.get(h);
    if (list) list.push(e);
    else this.index.set(h, [e]);
  }

  /** lengths of substrings worth looking at: every term length ±1, never under MIN_TERM */
  candidateLengths(): readonly number[] {
    return this.lengthList;
  }

  /** the term within edit distance 1 of cps[a..a+len), if any */
  findAt(cps: readonly number[], p: Uint32Array, a: number, len: number): string | null {
    const end = a + len;
    const whole = this.index.get(range(p, a, end));
    if (whole) {
      const s = text(cps, a, end);
      // equal to a term, or a term with one character deleted
      for (const e of whole) if (e.key === s) return e.term;
    }
    for (let k = 0; k < len; k++) {
      const h = (mul(range(p, a, a + k), pow(len - k - 1)) + range(p, a + k + 1, end)) >>> 0;
      const hits = this.index.get(h);
      if (!hits) continue;
      const s = text(cps, a, end, a + k);
      for (const e of hits) {
        if (e.key !== s) continue;
        // a term with one character inserted — only inside it: a character added at either
        // end is just a leftover character and scores as one, as in Entra's examples
        if (e.pos === -1 && k > 0 && k < len - 1) return e.term;
        if (e.pos === k) return e.term; // one character substituted at k
      }
    }
    return null;
  }
}

export interface BannedResult {
  score: number;
  /** the banned terms and names found, as normalised */
  found: string[];
  /** the same, as they appear in the password: what the person typed, to show back to them */
  typed: string[];
}

/**
 * Scores a password against banned-term indexes (fuzzy) and personal names (exact substrings).
 */
export function scoreBanned(password: string, indexes: readonly BannedIndex[], names: readonly string[] = []): BannedResult {
  const { cps, from, to } = normalizedWithOrigin(password);
  const n = cps.length;
  const p = prefixHashes(cps);
  // matches[end] = list of [start, term] for substrings cps[start..end) that are found terms
  const matches: [number, string][][] = Array.from({ length: n + 1 }, () => []);
  for (const idx of indexes) {
    const lengths = idx.candidateLengths();
    for (let start = 0; start < n; start++) {
      for (const len of lengths) {
        if (start + len > n) break;
        const term = idx.findAt(cps, p, start, len);
        if (term) matches[start + len]!.push([start, term]);
      }
    }
  }
  const joined = String.fromCodePoint(...cps);
  for (const raw of names) {
    const name = normalizeForBanned(raw);
    const len = [...name].length;
    if (len < MIN_TERM) continue;
    for (let at = joined.indexOf(name); at !== -1; at = joined.indexOf(name, at + 1)) {
      const start = [...joined.slice(0, at)].length;
      matches[start + len]!.push([start, name]);
    }
  }
  // best[i]: lowest score of the first i characters; via[i]: how it was reached
  const best = new Array<number>(n + 1).fill(0);
  const via = new Array<[number, string | null]>(n + 1).fill([0, null]);
  for (let i = 1; i <= n; i++) {
    best[i] = best[i - 1]! + 1;
    via[i] = [i - 1, null];
    for (const [start, term] of matches[i]!) {
      if (best[start]! + 1 < best[i]!) {
        best[i] = best[start]! + 1;
        via[i] = [start, term];
      }
    }
  }
  const found: string[] = [];
  const typed: string[] = [];
  for (let i = n; i > 0; ) {
    const [prev, term] = via[i]!;
    if (term) {
      found.unshift(term);
      typed.unshift(password.slice(from[prev], to[i - 1]));
    }
    i = prev;
  }
  return { score: best[n]!, found: [...new Set(found)], typed: [...new Set(typed)] };
}
