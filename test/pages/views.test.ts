// The page views rendered on their own: what the markup promises before any script runs.
import { describe, expect, it } from 'vitest';
import { DEFAULT_BRAND } from '../../src/http/pages/brand.js';
import { codePage, methodPage, passwordPage } from '../../src/http/pages/views/reset.js';
import { translator, type Locale } from '../../src/i18n.js';
import type { FlowView } from '../../src/services/reset-service.js';

const ctx = (locale: Locale) => ({ locale, t: translator(locale), csrf: 'x', helpdesk: '', assets: { css: '/a.css', js: '/a.js', strength: '/s.js' }, brand: DEFAULT_BRAND });
const flow = (gatesRequired: number, gatesPassed: number): FlowView => ({ id: 'f', state: 'verify', intent: 'reset', expiresAt: new Date(0).toISOString(), gatesRequired, gatesPassed, usedMethods: [], methods: [{ method: 'email', needsContact: true }, { method: 'sms', needsContact: true }], canUnlock: false });
const title = (page: string) => /<title>([^<]*)<\/title>/.exec(page)![1]!;

describe('page views', () => {
  it('gives each gate of several its own title, in both languages', () => {
    const en = ctx('en');
    const one = [title(methodPage(en, flow(1, 0))), title(codePage(en, flow(1, 0), 'email', { minutes: 5, protection: true }))];
    expect(one).toEqual(['Prove it is you · OpenSSPR', 'Enter the code · OpenSSPR']);
    const two = [flow(2, 0), flow(2, 1)].flatMap((v) => [title(methodPage(en, v)), title(codePage(en, v, 'email', { minutes: 5, protection: true }))]);
    expect(new Set(two).size).toBe(4);
    expect(two[2]).toBe('Prove it is you (Verification step 2 of 2) · OpenSSPR');
    expect(title(methodPage(ctx('he'), flow(2, 1)))).toContain('שלב אימות 2 מתוך 2');
  });

  it('carries the checklist of the server’s rules as data for the script, hidden without it, in both languages', () => {
    for (const locale of ['en', 'he'] as const) {
      const page = passwordPage(ctx(locale), { minLength: 12, classes: 3, userInputs: ['a@example.org'] });
      expect(page).toMatch(/<div class="rule-checklist" data-checklist-for="newPassword" data-rules="\{&quot;minLength&quot;:12,&quot;characterClasses&quot;:3\}" data-strings="[^"]+" hidden>/);
      for (const k of ['lower', 'upper', 'digit', 'symbol', 'caseless']) expect(page).toContain(`data-kind="${k}"`);
      expect(page).toContain('aria-live="polite"');
      // no inline script or style: the strict CSP holds
      expect(page).not.toMatch(/<script(?![^>]*\bsrc=)|\sstyle=|\son\w+=/);
      // the help text says letters without case count
      expect(page).toContain(locale === 'he' ? 'אותיות בלי גדולות וקטנות (כמו עברית או ערבית)' : 'letters without case (such as Hebrew or Arabic)');
    }
    // without a classes rule, no classes line
    expect(passwordPage(ctx('en'), { minLength: 8, classes: 0, userInputs: [] })).not.toContain('data-rule="classes"');
  });
});
