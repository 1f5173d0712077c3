import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BannedIndex, MIN_TERM, normalizeForBanned, scoreBanned } from './banned.js';

/** Plain Levenshtein: obviously right, slow. */
function distance(a: string[], b: string[]): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

/** The reference: every substring against every term, then the same minimum cover. */
function referenceScore(password: string, terms: string[], names: string[]): number {
  const cps = [...normalizeForBanned(password)];
  const ts = [...new Set(terms.map((t) => normalizeForBanned(t.trim())))].filter((t) => [...t].length >= MIN_TERM).map((t) => [...t]);
  const ns = names.map(normalizeForBanned).filter((t) => [...t].length >= MIN_TERM).map((t) => [...t]);
  const n = cps.length;
  const best = [0];
  for (let i = 1; i <= n; i++) {
    let b = best[i - 1]! + 1;
    for (let s = 0; s < i; s++) {
      const sub = cps.slice(s, i);
      const inserted = (t: string[]) => sub.length === t.length + 1 && sub.slice(1, -1).some((_, k) => [...sub.slice(0, k + 1), ...sub.slice(k + 2)].join('') === t.join(''));
      const near = (t: string[]) => (sub.length === t.length + 1 ? inserted(t) : distance(sub, t) <= 1);
      const hit = (sub.length >= MIN_TERM && ts.some(near)) || ns.some((t) => t.join('') === sub.join(''));
      if (hit) b = Math.min(b, best[s]! + 1);
    }
    best.push(b);
  }
  return best[n]!;
}

describe('banned-password scoring', () => {
  const idx = new BannedIndex(['contoso', 'blank']);

  it("scores SPEC's worked examples like Entra", () => {
    expect(scoreBanned('C0ntos0Blank12', [idx])).toEqual({ score: 4, found: ['contoso', 'blank'], typed: ['C0ntos0', 'Blank'] });
    expect(scoreBanned('ContoS0Bl@nkf9!', [idx]).score).toBe(5);
  });

  it('normalises case and the usual substitutions', () => {
    expect(normalizeForBanned('P@$$w0rd!')).toBe('passwordi');
    expect(normalizeForBanned('Ｃｏｎｔｏｓｏ')).toBe('contoso');
  });

  it('finds terms with one substitution, insertion or deletion', () => {
    expect(scoreBanned('contaso', [idx]).found).toEqual(['contoso']);
    expect(scoreBanned('conntoso', [idx]).found).toEqual(['contoso']);
    expect(scoreBanned('contso', [idx]).found).toEqual(['contoso']);
    expect(scoreBanned('cnotoso', [idx]).found).toEqual([]); // a transposition is two edits
  });

  it('counts the names of the person as terms', () => {
    expect(scoreBanned('xNoaPeretz9', [], ['Peretz'])).toEqual({ score: 6, found: ['peretz'], typed: ['Peretz'] });
  });

  it('shows each term as the person typed it, not as normalised', () => {
    expect(scoreBanned('P@$$w0rd-Blank', [new BannedIndex(['password', 'blank'])]).typed).toEqual(['P@$$w0rd', 'Blank']);
    // full-width forms and a fuzzy match: the span of the input, whatever its length in UTF-16
    expect(scoreBanned('ＣＯＮＴＡＳＯ!', [idx])).toMatchObject({ found: ['contoso'], typed: ['ＣＯＮＴＡＳＯ'] });
    expect(scoreBanned('😀Contosso😀', [idx]).typed).toEqual(['Contosso']);
    // a composed letter typed as two code points is one character of the term
    expect(scoreBanned('cafe\u0301Bl4nk', [new BannedIndex(['café', 'blank'])]).typed).toEqual(['cafe\u0301', 'Bl4nk']);
  });

  it('matches a fast index against the obviously-correct reference', () => {
    const alphabet = fc.constantFrom(...'abcdeo01@$!'.split(''));
    const word = fc.array(alphabet, { minLength: 3, maxLength: 7 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), fc.array(word, { maxLength: 2 }), fc.array(alphabet, { maxLength: 18 }), (terms, names, pw) => {
        const password = pw.join('');
        expect(scoreBanned(password, [new BannedIndex(terms)], names).score).toBe(referenceScore(password, terms, names));
      }),
      { numRuns: 1500 },
    );
  });
});
