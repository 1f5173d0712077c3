import { describe, expect, it } from 'vitest';
import { errorBody } from '../http/errors.js';
import { SsprError } from './errors.js';
import { brandName, contrastOnWhite, darker, isHttpsOrigin, parseHexColour, returnHref } from './branding.js';
import { defaultPolicy } from './policy/settings.js';
import { applyPolicyChange } from './policy/validate.js';

const refusal = (patch: Record<string, unknown>): SsprError => {
  try {
    applyPolicyChange(defaultPolicy(), patch);
  } catch (e) {
    return e as SsprError;
  }
  throw new Error('accepted');
};

describe('branding settings', () => {
  it('computes WCAG contrast on white: #767676 is the lightest grey that passes AA, #777777 fails', () => {
    expect(contrastOnWhite('#000000')).toBeCloseTo(21, 5);
    expect(contrastOnWhite('#ffffff')).toBeCloseTo(1, 5);
    expect(contrastOnWhite('#767676')).toBeGreaterThanOrEqual(4.5);
    expect(contrastOnWhite('#777777')).toBeLessThan(4.5);
    // the default blue
    expect(contrastOnWhite('#0b57a4')).toBeGreaterThan(7);
  });

  it('accepts a dark enough colour, stored as lower-case #rrggbb, and its hover shade is darker still', () => {
    const { policy } = applyPolicyChange(defaultPolicy(), { brandColour: '#7A1F5C' });
    expect(policy.brandColour).toBe('#7a1f5c');
    expect(applyPolicyChange(defaultPolicy(), { brandColour: '#036' }).policy.brandColour).toBe('#003366');
    expect(contrastOnWhite(darker('#7a1f5c'))).toBeGreaterThan(contrastOnWhite('#7a1f5c'));
    expect(parseHexColour('red')).toBeNull();
  });

  it('refuses a colour that fails AA on white, saying why in English and in Hebrew', () => {
    const e = refusal({ brandColour: '#ffcc00' });
    expect(e.code).toBe('SSPR_POLICY_INVALID');
    expect(e.details).toEqual([{ code: 'policy.contrast', field: 'brandColour', params: { key: 'brandColour', ratio: '1.51', min: 4.5 } }]);
    expect(errorBody(e, 'en').error.details[0]!.message).toBe('brandColour is too light to read on white: its contrast is 1.51:1, and at least 4.5:1 is needed (WCAG AA). Choose a darker shade.');
    expect(errorBody(e, 'he').error.details[0]!.message).toMatch(/^הצבע בהגדרה brandColour בהיר מדי לקריאה על רקע לבן/);
    expect(refusal({ brandColour: 'blue' }).details[0]!.code).toBe('policy.colour');
  });

  it('takes one line of organisation name and an https sign-in page only', () => {
    expect(brandName(defaultPolicy())).toBe('OpenSSPR');
    expect(brandName(applyPolicyChange(defaultPolicy(), { orgName: '  Acme Health ' }).policy)).toBe('Acme Health');
    expect(refusal({ orgName: 'Acme\nBcc: x@evil.example' }).details[0]!.code).toBe('policy.textControl');
    expect(refusal({ orgName: 'Acme\u202eevil' }).details[0]!.code).toBe('policy.textControl');
    expect(refusal({ orgName: 'x'.repeat(81) }).details[0]!.code).toBe('policy.text');
    for (const bad of ['http://login.example', 'javascript:alert(1)', '/account', 'https://user:pw@login.example']) expect(refusal({ signInUrl: bad }).details[0]!.code, bad).toBe('policy.url');
    expect(applyPolicyChange(defaultPolicy(), { signInUrl: 'https://login.example/' }).policy.signInUrl).toBe('https://login.example/');
  });

  it('follows a return address only to an allowed https origin', () => {
    const allowed = ['https://idp.example.org', 'https://sso.example.org:8443'];
    expect(returnHref('https://idp.example.org/login?x=1#y', allowed)).toBe('https://idp.example.org/login?x=1#y');
    expect(returnHref('https://IDP.example.org/', allowed)).toBe('https://idp.example.org/');
    expect(returnHref('https://sso.example.org:8443/a', allowed)).toBe('https://sso.example.org:8443/a');
    for (const bad of ['https://evil.example/', 'http://idp.example.org/', 'https://idp.example.org.evil.example/', 'https://idp.example.org:444/', 'https://sso.example.org/', 'https://u:p@idp.example.org/', 'https://u@idp.example.org/', '//idp.example.org/', '/reset', 'javascript:alert(1)', `https://idp.example.org/${'x'.repeat(2100)}`, ''])
      expect(returnHref(bad, allowed), bad).toBeNull();
    expect(returnHref('https://idp.example.org/', [])).toBeNull();
    expect(isHttpsOrigin('https://idp.example.org')).toBe(true);
    for (const bad of ['https://idp.example.org/', 'https://idp.example.org/x', 'http://idp.example.org', 'idp.example.org', 'https://u@idp.example.org', 'https://IDP.example.org']) expect(isHttpsOrigin(bad), bad).toBe(false);
    expect(refusal({ returnUrls: ['https://idp.example.org/'] }).details[0]!.code).toBe('policy.returnUrls');
    expect(applyPolicyChange(defaultPolicy(), { returnUrls: allowed }).policy.returnUrls).toEqual(allowed);
  });
});
