// The account page shows when the password expires, in English and Hebrew, and nothing when it never does.
import { describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from '../support/databases.js';
import { PASSWORD, seedUser, setPolicy, startServerOnUrl } from '../support/app.js';
import { FakeClock } from '../support/clock.js';
import { FormClient } from '../support/form-client.js';

const DAY = 86_400_000;

describe('/account: password expiry date', () => {
  it('shows "Your password expires on …" in the page language, and nothing while passwords never expire', async () => {
    const clock = new FakeClock(Date.UTC(2026, 0, 15, 9, 0, 0));
    const server = await startServerOnUrl(await freshDatabaseUrl('sqlite'), {}, { clock });
    await seedUser(server, { username: 'rina' });
    const c = new FormClient(server.url);
    const page = await c.get('/account');
    const r = await c.post('/account/sign-in', { username: 'rina', password: PASSWORD }, page);
    expect(r.location).toBe('/account');

    let en = await c.get('/account');
    expect(en.status).toBe(200);
    expect(en.text).toContain('Change your password');
    expect(en.text).not.toContain('password-expiry');
    expect(en.text).not.toContain('expires on');

    await setPolicy(server, { maxPasswordAgeDays: 30 });
    const at = new Date(clock.t + 30 * DAY).toISOString(); // 14 February 2026
    en = await c.get('/account?lang=en');
    expect(en.text).toContain(`<p class="password-expiry"><time datetime="${at}">Your password expires on February 14, 2026 (UTC).</time></p>`);
    const he = await c.get('/account?lang=he');
    expect(he.text).toContain(`<time datetime="${at}">תוקף הסיסמה שלכם יפוג ב-14 בפברואר 2026 (UTC).</time>`);
  });
});
