/**
 * The password strength meter, in the browser. Bundled by build.ts into public/build/strength.js
 * and loaded (type=module) only on pages where a new password is typed.
 *
 * It is advice only: the server checks the password policy when the form is sent, and the page
 * works the same without this script. The score comes from the server's own scorer
 * (src/adapters/strength.ts: zxcvbn-ts with the same dictionaries, the Hebrew one included),
 * fetched at the first keystroke in the field, so a page where nobody types a password never
 * loads the dictionaries (~840 KB). The same entry ticks the rules checklist (checklist.ts).
 *
 * The markup (views/layout.ts) is a hidden box after the input:
 *   <div class="strength" data-strength-for="newPassword" data-labels='["Very weak", …]' hidden>
 *     <meter aria-hidden="true" …></meter><p id="newPassword-strength" aria-live="polite"></p>
 *   </div>
 * and the form carries the person's username and names in data-user-inputs (a JSON array).
 */

import { attachChecklists } from './checklist.js';

// The project compiles without the DOM types; this is the little of the DOM used here.
interface Elem {
  readonly id: string;
  hidden: boolean;
  textContent: string | null;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  closest(selector: string): Elem | null;
  querySelector(selector: string): Elem | null;
  addEventListener(type: string, listener: () => void, options?: { once?: boolean; passive?: boolean }): void;
}
interface InputElem extends Elem {
  readonly value: string;
}
interface MeterElem extends Elem {
  value: number;
}
interface Doc {
  querySelectorAll(selector: string): ArrayLike<Elem>;
  getElementById(id: string): Elem | null;
}

type Scorer = typeof import('../../adapters/strength.js');

const DEBOUNCE_MS = 150;
/** the same normalisation the server applies before scoring (core/password/rules.ts) */
const normalize = (p: string) => p.normalize('NFKC');

let scorer: Promise<Scorer> | null = null;
const loadScorer = (): Promise<Scorer> =>
  (scorer ??= import('../../adapters/strength.js').then((m) => {
    // the first score builds zxcvbn's dictionaries (~150 ms): better on focus than mid-typing
    m.strengthScore('', []);
    return m;
  }));

function stringArray(json: string | null | undefined): string[] {
  try {
    const v: unknown = JSON.parse(json ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
  } catch {
    return [];
  }
}

function attach(doc: Doc, box: Elem): void {
  const input = doc.getElementById(box.getAttribute('data-strength-for') ?? '') as InputElem | null;
  const text = box.querySelector('[aria-live]');
  const meter = box.querySelector('meter') as MeterElem | null;
  const labels = stringArray(box.getAttribute('data-labels'));
  if (!input || !text || !meter || labels.length !== 5) return;
  const userInputs = stringArray(input.closest('form')?.getAttribute('data-user-inputs'));

  // the description joins the input's help and errors only now that it can say something
  const describedBy = (input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
  if (!describedBy.includes(text.id)) input.setAttribute('aria-describedby', [...describedBy, text.id].join(' '));
  box.hidden = false;

  let timer: ReturnType<typeof setTimeout> | undefined;
  let shown = -2;
  const show = (score: number) => {
    if (score === shown) return; // unchanged: nothing new for screen readers to announce
    shown = score;
    meter.value = Math.max(score, 0);
    box.setAttribute('data-score', String(score));
    text.textContent = score < 0 ? '' : (labels[score] ?? '');
  };
  const update = async () => {
    const password = input.value;
    if (!password) return show(-1);
    let score: number;
    try {
      score = (await loadScorer()).strengthScore(normalize(password), userInputs);
    } catch {
      scorer = null; // offline or blocked: no advice, and the next keystroke tries again
      return;
    }
    // a newer keystroke has its own update coming
    if (input.value === password) show(score);
  };

  input.addEventListener('input', () => {
    // the dictionaries start loading with the first key, while the debounce waits
    if (!scorer) void loadScorer().catch(() => (scorer = null));
    clearTimeout(timer);
    timer = setTimeout(() => void update(), DEBOUNCE_MS);
  });
  // a value restored by the browser (back button) gets its advice too
  if (input.value) void update();
}

const doc = (globalThis as unknown as { document: Doc }).document;
for (const box of Array.from(doc.querySelectorAll('[data-strength-for]'))) attach(doc, box);
attachChecklists();
