/**
 * Banned-password scoring, after Entra Password Protection: normalise the password, find banned
 * terms within edit distance 1 anywhere in it (and the person's names as plain substrings),
 * then score 1 point per term found plus 1 per character left over. Under 5 points is refused.
 *
 * Terms are found with a deletion index (every term and each of its one-character deletions,
 * with the deleted position), so one lookup per candidate substring and per one-character
 * deletion of it answers "is there a term at distance ≤ 1" exactly, without scanning the list.
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

export const MIN_SCORE = 5;
/** terms shorter than this are not searched, fuzzy matches never shorter than this count */
export const MIN_TERM = 4;

interface Entry {
  term: string;
  /** deleted position, or -1 for the term itself */
  pos: number;
}

export class BannedIndex {
  /** key: a term or a one-deletion variant of it */
  private readonly index = new Map<string, Entry[]>();
  private readonly lengths = new Set<number>();
  readonly size: number;

  constructor(terms: Iterable<string>) {
    const unique = new Set<string>();
    for (const raw of terms) {
      const t = normalizeForBanned(raw.trim());
      if ([...t].length >= MIN_TERM) unique.add(t);
    }
    for (const t of unique) {
      const cps = [...t];
      this.add(t, { term: t, pos: -1 });
      for (let i = 0; i < cps.length; i++) this.add(cps.slice(0, i).join('') + cps.slice(i + 1).join(''), { term: t, pos: i });
      this.lengths.add(cps.length);
    }
    this.size = unique.size;
  }

  private add(key: string, e: Entry): void {
    const list = this.index.get(key);
    if (list) list.push(e);
    else this.index.set(key, [e]);
  }

  /** the term within edit distance 1 of `s` (an array of code points), if any */
  match(s: string[]): string | null {
    const whole = s.join('');
    for (const e of this.index.get(whole) ?? []) {
      if (e.pos === -1) return e.term; // equal
      return e.term; // s is the term with one character deleted
    }
    for (let i = 0; i < s.length; i++) {
      const del = s.slice(0, i).join('') + s.slice(i + 1).join('');
      for (const e of this.index.get(del) ?? []) {
        // s is the term with one character inserted — only inside it: a character added at
        // either end is just a leftover character and scores as one, as in Entra's examples
        if (e.pos === -1 && i > 0 && i < s.length - 1) return e.term;
        if (e.pos === i) return e.term; // one character substituted at i
      }
    }
    return null;
  }

  /** lengths of substrings worth looking at: every term length ±1, never under MIN_TERM */
  candidateLengths(): number[] {
    const out = new Set<number>();
    for (const l of this.lengths) for (const d of [-1, 0, 1]) if (l + d >= MIN_TERM) out.add(l + d);
    return [...out].sort((a, b) => a - b);
  }
}

export interface BannedResult {
  score: number;
  /** the banned terms and names found, as normalised */
  found: string[];
}

/**
 * Scores a password against banned-term indexes (fuzzy) and personal names (exact substrings).
 */
export function scoreBanned(password: string, indexes: readonly BannedIndex[], names: readonly string[] = []): BannedResult {
  const cps = [...normalizeForBanned(password)];
  const n = cps.length;
  // matches[end] = list of [start, term] for substrings cps[start..end) that are found terms
  const matches: [number, string][][] = Array.from({ length: n + 1 }, () => []);
  for (const idx of indexes) {
    const lengths = idx.candidateLengths();
    for (let start = 0; start < n; start++) {
      for (const len of lengths) {
        if (start + len > n) break;
        const term = idx.match(cps.slice(start, start + len));
        if (term) matches[start + len]!.push([start, term]);
      }
    }
  }
  const joined = cps.join('');
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
  for (let i = n; i > 0; ) {
    const [prev, term] = via[i]!;
    if (term) found.unshift(term);
    i = prev;
  }
  return { score: best[n]!, found: [...new Set(found)] };
}
