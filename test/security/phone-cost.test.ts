import { afterEach, describe, expect, it } from 'vitest';
import { api, bearer, startTestServer, type TestServer } from '../support/app.js';
import { DATABASES, freshDatabaseUrl } from '../support/databases.js';

const HOUR = 3_600_000;
const NOA = '+972501234567';
const PASSWORD = 'Tulip-Harbor-73!';

describe.each(DATABASES)('what SMS and voice may cost, on %s', (kind) => {
  let t = Date.now();
  const clock = { now: () => t };
  let s: TestServer;
  afterEach(() => s?.close());
  const serve = async (env: Record<string, string>) => {
    t = Date.now();
    s = await startTestServer(await freshDatabaseUrl(kind), env, { clock });
    await s.directory.add({ username: 'noa@example.org', email: 'noa@example.org', mobile: NOA, password: PASSWORD });
  };
  /** a new flow for `username`, then an SMS challenge typing `contact` */
  const smsTo = async (username: string, contact: string | undefined, headers: Record<string, string> = {}, method = 'sms') => {
    const f = (await api(s.url, 'POST', '/api/v1/reset', { username })).json;
    return api(s.url, 'POST', `/api/v1/reset/${f.id}/challenge`, { method, ...(contact ? { contact } : {}) }, { ...bearer(f.token), ...headers });
  };
  const refusals = async (reason: string) => (await s.store.r.audit.list({ limit: 1000 })).filter((e) => e.reason === reason);

  it('limits codes per typed number across every account, matching or not, atomically', async () => {
    await serve({ SSPR_PHONE_PER_NUMBER_PER_HOUR: '3' });
    // ten accounts that do not have this number, all at once
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => smsTo(`stranger${i}@example.org`, NOA)));
    expect(burst.filter((r) => r.status === 202)).toHaveLength(3);
    const refused = burst.filter((r) => r.status !== 202);
    expect(refused).toHaveLength(7);
    for (const r of refused) expect([r.status, r.json.error.code]).toEqual([429, 'SSPR_PHONE_NUMBER_THROTTLED']);
    // the owner typing it now gets the very same answer: a refusal tells nothing about the record
    const owner = await smsTo('noa@example.org', NOA);
    const stranger = await smsTo('stranger99@example.org', NOA);
    expect([owner.status, owner.json]).toEqual([stranger.status, stranger.json]);
    expect(s.transport.sent.filter((m) => m.to === NOA)).toHaveLength(0);
    const he = await smsTo('stranger98@example.org', '+972-50-123-4567', { 'accept-language': 'he' });
    expect(he.json.error.code).toBe('SSPR_PHONE_NUMBER_THROTTLED');
    expect(he.json.error.message).toMatch(/יותר מדי קודים/);
    expect(await refusals('phone number throttled')).toHaveLength(10);
    // another number is not affected, and an hour later this one is free again
    expect((await smsTo('noa@example.org', '+972509999999')).status).toBe(202);
    t += HOUR + 1;
    expect((await smsTo('noa@example.org', NOA)).status).toBe(202);
    expect((await s.transport.next(NOA)).channel).toBe('sms');
  });

  it('without enumeration protection, counts the number on record (voice calls too)', async () => {
    await serve({ SSPR_PHONE_PER_NUMBER_PER_HOUR: '2' });
    await s.policy.update({ enumerationProtection: false, methods: ['email', 'sms', 'voice'] }, 'test', null);
    expect((await smsTo('noa@example.org', undefined)).status).toBe(202);
    expect((await smsTo('noa@example.org', undefined, {}, 'voice')).status).toBe(202);
    const third = await smsTo('noa@example.org', undefined);
    expect([third.status, third.json.error.code]).toEqual([429, 'SSPR_PHONE_NUMBER_THROTTLED']);
    // e-mail costs nothing and is not limited by it
    expect((await smsTo('noa@example.org', undefined, {}, 'email')).status).toBe(202);
  });

  it('sends only to allowed country codes, for resets and registrations alike', async () => {
    await serve({});
    await s.policy.update({ phoneCountryCodes: ['1', '44'] }, 'test', null);
    const owner = await smsTo('noa@example.org', NOA);
    const stranger = await smsTo('stranger@example.org', NOA);
    expect([owner.status, owner.json.error.code]).toEqual([400, 'SSPR_PHONE_COUNTRY_NOT_ALLOWED']);
    expect([owner.status, owner.json]).toEqual([stranger.status, stranger.json]);
    expect((await smsTo('stranger@example.org', '+14155550100')).status).toBe(202);
    expect((await smsTo('stranger@example.org', '+447700900123')).status).toBe(202);

    const token = (await api(s.url, 'POST', '/api/v1/session', { username: 'noa@example.org', password: PASSWORD })).json.token;
    const reg = await api(s.url, 'POST', '/api/v1/me/methods', { method: 'office', value: '+97235551234' }, { ...bearer(token), 'accept-language': 'he' });
    expect([reg.status, reg.json.error.code]).toEqual([400, 'SSPR_PHONE_COUNTRY_NOT_ALLOWED']);
    expect(reg.json.error.message).toMatch(/מדינה/);
    expect(await s.store.db.selectFrom('security_info').selectAll().execute()).toHaveLength(0);
    expect((await api(s.url, 'POST', '/api/v1/me/methods', { method: 'sms', value: '+14155550111' }, bearer(token))).status).toBeLessThan(300);
    expect(await refusals('phone country not allowed')).toHaveLength(3);

    await expect(s.policy.update({ phoneCountryCodes: ['+97'] }, 'test', null)).rejects.toMatchObject({ code: 'SSPR_POLICY_INVALID', details: [{ code: 'policy.countryCodes' }] });
  });

  it('stops every SMS and call once the hourly budget is spent, counting each attempt', async () => {
    await serve({ SSPR_PHONE_BUDGET_PER_HOUR: '4' });
    // attempts to numbers on record and to numbers not on record spend it alike
    const burst = await Promise.all(Array.from({ length: 9 }, (_, i) => smsTo(i === 0 ? 'noa@example.org' : `stranger${i}@example.org`, i === 0 ? NOA : `+1415555010${i}`)));
    expect(burst.filter((r) => r.status === 202)).toHaveLength(4);
    for (const r of burst.filter((x) => x.status !== 202)) expect([r.status, r.json.error.code]).toEqual([429, 'SSPR_PHONE_BUDGET_EXHAUSTED']);
    expect(await refusals('phone budget exhausted')).toHaveLength(5);
    // registering a phone is refused too, e-mail is not
    const token = (await api(s.url, 'POST', '/api/v1/session', { username: 'noa@example.org', password: PASSWORD })).json.token;
    expect((await api(s.url, 'POST', '/api/v1/me/methods', { method: 'sms', value: '+14155550999' }, bearer(token))).json.error.code).toBe('SSPR_PHONE_BUDGET_EXHAUSTED');
    expect((await smsTo('noa@example.org', 'noa@example.org', {}, 'email')).status).toBe(202);
    t += HOUR + 1;
    expect((await smsTo('stranger@example.org', '+14155550177')).status).toBe(202);
  });
});
