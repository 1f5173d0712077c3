/**
 * The live checklist of the password rules, in the browser (bundled into strength.js). Each line
 * is ticked with the server's own checks (core/password/rules.ts), read against the rules the
 * page carries in data-rules, so the page and the server cannot disagree on what a rule means.
 * Advice only: the server checks again and lists every rule that failed.
 *
 * Markup (views/layout.ts ruleChecklist): a hidden box after the input,
 *   <div class="rule-checklist" data-checklist-for="newPassword" data-rules='{"minLength":8,…}' data-strings='{…}' hidden>
 *     <ul class="checklist"><li data-rule="length" data-met="false"><span data-rule-state>Not yet: </span>…</li>…</ul>
 *     <p id="newPassword-checklist-status" aria-live="polite"></p>
 *   </div>
 * The live region says how many rules are met once typing pauses, so a screen reader is told
 * politely, not at every key.
 */
import { kindsIn, rulesMet, RULE_IDS, type RuleId } from '../../core/password/rules.js';

interface Elem {
  readonly id: string;
  hidden: boolean;
  textContent: string | null;
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
  closest(selector: string): Elem | null;
  querySelector(selector: string): Elem | null;
  querySelectorAll(selector: string): ArrayLike<Elem>;
  addEventListener(type: string, listener: () => void): void;
}
interface InputElem extends Elem {
  readonly value: string;
}
interface Doc {
  querySelectorAll(selector: string): ArrayLike<Elem>;
  getElementById(id: string): Elem | null;
}

/** the pause after the last key before the count is announced */
const ANNOUNCE_MS = 900;

function parse<T>(json: string | null, fallback: T): T {
  try {
    return (JSON.parse(json ?? '') as T) ?? fallback;
  } catch {
    return fallback;
  }
}

const stringArray = (json: string | null): string[] => {
  const v = parse<unknown>(json, []);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];
};

export function attachChecklist(doc: Doc, box: Elem): void {
  const input = doc.getElementById(box.getAttribute('data-checklist-for') ?? '') as InputElem | null;
  const rules = parse<{ minLength?: unknown; characterClasses?: unknown }>(box.getAttribute('data-rules'), {});
  const strings = parse<Record<string, string>>(box.getAttribute('data-strings'), {});
  const status = box.querySelector('[aria-live]');
  if (!input || !status || typeof rules.minLength !== 'number' || typeof rules.characterClasses !== 'number') return;
  // the checklist checks no upper bound: the server reports a password too long
  const checked = { minLength: rules.minLength, maxLength: Number.MAX_SAFE_INTEGER, characterClasses: rules.characterClasses };
  const names = stringArray(input.closest('form')?.getAttribute('data-user-inputs') ?? null);
  const lines = RULE_IDS.map((id) => [id, box.querySelector(`[data-rule="${id}"]`)] as const).filter((l): l is [RuleId, Elem] => l[1] !== null);
  const kinds = Array.from(box.querySelectorAll('[data-kind]'));

  const describedBy = (input.getAttribute('aria-describedby') ?? '').split(/\s+/).filter(Boolean);
  if (!describedBy.includes(status.id)) input.setAttribute('aria-describedby', [...describedBy, status.id].join(' '));
  box.hidden = false;

  let timer: ReturnType<typeof setTimeout> | undefined;
  let announced = '';
  const mark = (el: Elem, met: boolean) => {
    el.setAttribute('data-met', String(met));
    const state = el.querySelector(':scope > [data-rule-state]');
    if (state) state.textContent = `${(met ? strings.met : strings.notMet) ?? ''} `;
  };
  const update = () => {
    const password = input.value;
    const met = rulesMet(password, checked, names);
    for (const [id, el] of lines) mark(el, met[id]);
    const has = new Set<string>(kindsIn(password));
    for (const el of kinds) mark(el, has.has(el.getAttribute('data-kind') ?? ''));
    const count = lines.filter(([id]) => met[id]).length;
    clearTimeout(timer);
    const text = password === '' ? '' : (count === lines.length ? (strings.allMet ?? '') : (strings.status ?? '')).replace('{met}', String(count)).replace('{total}', String(lines.length));
    timer = setTimeout(() => {
      if (text === announced) return; // nothing new to say
      announced = text;
      status.textContent = text;
    }, ANNOUNCE_MS);
  };
  input.addEventListener('input', update);
  // a value restored by the browser (back button) is ticked too
  if (input.value) update();
}

export function attachChecklists(doc: Doc = (globalThis as unknown as { document: Doc }).document): void {
  for (const box of Array.from(doc.querySelectorAll('[data-checklist-for]'))) attachChecklist(doc, box);
}
