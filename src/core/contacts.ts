/**
 * Contact values are compared only in one canonical form. Anything that is not plainly an
 * address (arrays, look-alike letters from other scripts, several addresses) is refused
 * before it can be matched, so a code can only ever go to a contact on record.
 */
const EMAIL = /^[a-z0-9](?:[a-z0-9._%+-]{0,62}[a-z0-9_%+-])?@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function normalizeEmail(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > 320) return null;
  const v = input.normalize('NFKC').trim().toLowerCase();
  return EMAIL.test(v) ? v : null;
}

export function normalizePhone(input: unknown): string | null {
  if (typeof input !== 'string' || input.length > 40) return null;
  const v = input.normalize('NFKC').trim().replace(/[\s().-]/g, '');
  const withPlus = v.startsWith('00') ? `+${v.slice(2)}` : v;
  return /^\+[1-9]\d{6,14}$/.test(withPlus) ? withPlus : null;
}

export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  const dot = domain.lastIndexOf('.');
  const host = dot > 0 ? domain.slice(0, dot) : domain;
  const tld = dot > 0 ? domain.slice(dot) : '';
  return `${local.slice(0, 1)}***@${host.slice(0, 1)}***${tld}`;
}

export function maskPhone(phone: string): string {
  const cc = phone.match(/^\+(1|7|\d{3})/)?.[0] ?? phone.slice(0, 3);
  return `${cc} ••• ••${phone.slice(-2)}`;
}
