// "I forgot my username" on Active Directory, against the real Samba AD: people are found by
// their mail and by their mobile number however the administrator typed it, and the reminder
// carries their sAMAccountName to the contact typed, in the language AD holds for them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActiveDirectory } from '../../src/adapters/directory/ad.js';
import { ldapDirectory } from '../../src/adapters/directory/index.js';
import { loadConfig } from '../../src/config.js';
import { freshDatabaseUrl } from '../support/databases.js';
import { AdAdmin, adEnv, uniqueName } from '../support/directories.js';
import { api, startServerOnUrl } from '../support/app.js';
import { drain, messagesTo } from '../support/flows.js';

const PW = 'Initial-Pass-42x';
const names = (list: { username: string }[]) => list.map((u) => u.username).sort();

describe('Active Directory: username reminder by contact', () => {
  let admin: AdAdmin;
  let dir: ActiveDirectory;
  let office: ActiveDirectory;
  beforeAll(async () => {
    admin = await AdAdmin.open();
    dir = ldapDirectory(loadConfig({}, adEnv()).ldap!, 'ad') as ActiveDirectory;
    // many domains keep the number people are reached on in telephoneNumber
    office = ldapDirectory(loadConfig({}, adEnv({ SSPR_LDAP_ATTR_MOBILE: 'telephoneNumber' })).ldap!, 'ad') as ActiveDirectory;
  });
  afterAll(async () => {
    await dir.close();
    await office.close();
    await admin.close();
  });

  it('finds an AD user by mail and by mobile or telephoneNumber, in canonical form, with the typed value escaped', async () => {
    const a = uniqueName('fua');
    const b = uniqueName('fub');
    const n = Math.floor(Math.random() * 9_000_000) + 1_000_000;
    const mobile = `+97252${n}`;
    const tel = `+9723${n}`;
    await admin.addUser({ name: a, password: PW, mail: `${a}@Example.org`, mobile: `+972 52-${String(n).slice(0, 3)}-${String(n).slice(3)}` });
    await admin.addUser({ name: b, password: PW, office: `+972 (3) ${String(n).slice(0, 3)} ${String(n).slice(3)}` });

    expect(names(await dir.findByContact({ kind: 'email', value: `${a}@example.org` }))).toEqual([a]);
    expect(names(await dir.findByContact({ kind: 'phone', value: mobile }))).toEqual([a]);
    expect(names(await office.findByContact({ kind: 'phone', value: tel }))).toEqual([b]);
    // another number sharing the digits is not the same number
    expect(await dir.findByContact({ kind: 'phone', value: `+97252${n}1` })).toEqual([]);
    expect(await dir.findByContact({ kind: 'phone', value: tel })).toEqual([]);
    for (const attack of ['*', `${a}*`, `*)(sAMAccountName=*`, `${a}@example.org)(|(cn=*`]) {
      expect(await dir.findByContact({ kind: 'email', value: attack })).toEqual([]);
    }
  });

  it('sends the sAMAccountName to the mail or the mobile typed, in the language AD holds for the person', async () => {
    const a = uniqueName('fuh');
    const n = Math.floor(Math.random() * 9_000_000) + 1_000_000;
    const mobile = `+97254${n}`;
    await admin.addUser({ name: a, password: PW, mail: `${a}@example.org`, mobile: `+972-54-${n}` }, { preferredLanguage: 'he-IL' });
    const s = await startServerOnUrl(await freshDatabaseUrl('postgres'), adEnv());

    const byMail = await api(s.url, 'POST', '/api/v1/username-reminder', { contact: `${a.toUpperCase()}@example.org` }, { 'accept-language': 'en' });
    expect(byMail.status, byMail.text).toBe(202);
    const byPhone = await api(s.url, 'POST', '/api/v1/username-reminder', { contact: `+972 54 ${n}` }, { 'accept-language': 'en' });
    expect(byPhone.status, byPhone.text).toBe(202);
    const unknown = await api(s.url, 'POST', '/api/v1/username-reminder', { contact: `nobody-${a}@example.org` });
    expect(unknown.status).toBe(202);
    expect(unknown.json).toEqual(byMail.json);
    await drain(s);

    const [mail] = messagesTo(s, `${a}@example.org`);
    expect(mail, JSON.stringify(s.transport.sent)).toBeDefined();
    expect(mail!.channel).toBe('email');
    expect(mail!.text).toContain(a);
    // preferredLanguage he-IL on the entry, no choice in OpenSSPR: Hebrew, whatever page asked
    expect(mail!.locale).toBe('he');
    expect(mail!.text).toContain('שם המשתמש');
    const [sms] = messagesTo(s, mobile);
    expect(sms!.channel).toBe('sms');
    expect(sms!.text).toContain(a);
    expect(messagesTo(s, `nobody-${a}@example.org`)).toHaveLength(0);
    const audit = await s.store.db.selectFrom('audit').selectAll().where('activity', '=', 'Send username reminder (self-service)').orderBy('seq').execute();
    expect(audit.map((x) => [x.result, x.target])).toEqual([
      ['success', a],
      ['success', a],
      ['failure', null],
    ]);
  });
});
