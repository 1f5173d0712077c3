// Process settings are declared once (src/config.ts SETTINGS): loadConfig, the check of the
// SSPR_CONFIG file and docs/configuration.md all come from that table.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIGURATION_DOC, withSettingsTable } from '../../scripts/config-docs.js';
import { ConfigError, loadConfig, SETTINGS } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'sspr-config-'));
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

describe('the declared table of process settings', () => {
  it('docs/configuration.md holds the table as `npm run docs:config` generates it', () => {
    const committed = readFileSync(CONFIGURATION_DOC, 'utf8');
    expect(withSettingsTable(committed), 'run `npm run docs:config` and commit the result').toBe(committed);
    for (const key of Object.keys(SETTINGS)) expect(committed).toContain(`| \`${key}\` |`);
  });

  it('every documented integer default is the value loadConfig uses when the key is unset', () => {
    const c = loadConfig({}, {});
    const used: Record<string, number> = {
      SSPR_PORT: c.port,
      SSPR_IPV6_PREFIX: c.ipv6Prefix,
      SSPR_REQUEST_TIMEOUT_MS: c.timeouts.requestMs,
      SSPR_HEADERS_TIMEOUT_MS: c.timeouts.headersMs,
      SSPR_IDLE_TIMEOUT_MS: c.timeouts.idleMs,
      SSPR_SOURCE_CODES_PER_HOUR: c.sourceLimits.codesPerHour,
      SSPR_SOURCE_FAILURES_PER_HOUR: c.sourceLimits.failuresPerHour,
      SSPR_SOURCE_SIGNIN_FAILURES_PER_HOUR: c.sourceLimits.signInFailuresPerHour,
      SSPR_PHONE_PER_NUMBER_PER_HOUR: c.phoneLimits.perNumberPerHour,
      SSPR_PHONE_PER_NUMBER_PER_DAY: c.phoneLimits.perNumberPerDay,
      SSPR_PHONE_BUDGET_PER_HOUR: c.phoneLimits.budgetPerHour,
      SSPR_SOURCE_STARTS_PER_HOUR: c.sourceStartsPerHour,
    };
    for (const [key, value] of Object.entries(used)) expect(SETTINGS[key as keyof typeof SETTINGS].default, key).toBe(String(value));
    expect([c.host, c.databaseUrl, c.directoryUrl, c.captcha, c.logLevel, c.publicUrl.href, c.breachedFilter]).toEqual([
      SETTINGS.SSPR_HOST.default,
      SETTINGS.SSPR_DATABASE_URL.default,
      SETTINGS.SSPR_DIRECTORY_URL.default,
      SETTINGS.SSPR_CAPTCHA.default,
      SETTINGS.SSPR_LOG_LEVEL.default,
      // unset, the public URL is the listener's: the documented default names the two keys it comes from
      `${SETTINGS.SSPR_PUBLIC_URL.default.replace('SSPR_HOST', 'localhost').replace('SSPR_PORT', SETTINGS.SSPR_PORT.default)}/`,
      SETTINGS.SSPR_BREACHED_FILTER.default,
    ]);
  });

  it('reads the SSPR_CONFIG file with the same checks as the environment, and the environment wins', () => {
    const path = file('ok.json', { SSPR_PORT: 9001, SSPR_HOST: '0.0.0.0', SSPR_BREACHED_FILTER: '/var/lib/sspr/hibp.filter', SSPR_DEMO: true });
    const c = loadConfig({ SSPR_CONFIG: path, SSPR_HOST: '127.0.0.2' });
    expect([c.port, c.host, c.breachedFilter, c.demo]).toEqual([9001, '127.0.0.2', '/var/lib/sspr/hibp.filter', true]);
    expect(() => loadConfig({ SSPR_CONFIG: file('bad-port.json', { SSPR_PORT: 70000 }) })).toThrow('SSPR_PORT must be an integer from 0 to 65535');
    expect(() => loadConfig({ SSPR_CONFIG: file('typo.json', { SSPR_PROT: 9001 }) })).toThrow('unknown key SSPR_PROT in SSPR_CONFIG file');
    for (const notAnObject of ['[]', 'null', '"SSPR_PORT"', '{']) expect(() => loadConfig({ SSPR_CONFIG: file('odd.json', notAnObject) }), notAnObject).toThrow(ConfigError);
    expect(() => loadConfig({ SSPR_CONFIG: join(dir, 'absent.json') })).toThrow(/SSPR_CONFIG: cannot read/);
  });

  it('keeps the rules that span settings', () => {
    const secretFile = file('secret', 's'.repeat(40));
    chmodSync(secretFile, 0o600);
    expect(() => loadConfig({}, { SSPR_SECRET: 's'.repeat(40), SSPR_SECRET_FILE: secretFile })).toThrow(/not both/);
    expect(() => loadConfig({}, { SSPR_SECRET: 'short' })).toThrow('SSPR_SECRET must hold at least 32 characters');
    expect(() => loadConfig({}, { SSPR_HEADERS_TIMEOUT_MS: '20000', SSPR_REQUEST_TIMEOUT_MS: '15000' })).toThrow('SSPR_HEADERS_TIMEOUT_MS must not exceed SSPR_REQUEST_TIMEOUT_MS');
    expect(() => loadConfig({}, { SSPR_SMS_WEBHOOK_URL: 'https://sms.example/hook' })).toThrow('SSPR_SMS_WEBHOOK_SECRET is required with SSPR_SMS_WEBHOOK_URL');
    expect(() => loadConfig({}, { SSPR_CAPTCHA: 'recaptcha' })).toThrow('SSPR_CAPTCHA must be altcha or off');
    expect(() => loadConfig({}, { SSPR_PUBLIC_URL: 'ftp://example.org' })).toThrow('SSPR_PUBLIC_URL must be http or https');
    expect(() => loadConfig({}, { SSPR_BREACHED_RANGE_URL: 'https://user:pw@range.example' })).toThrow(/SSPR_BREACHED_RANGE_URL/);
    expect(loadConfig({}, { SSPR_PUBLIC_URL: 'https://sspr.example.org' }).mailFrom).toBe('OpenSSPR <no-reply@sspr.example.org>');
    expect(loadConfig({}, { SSPR_ADMIN_API_KEYS: `ops:${'k'.repeat(32)}:helpdesk` }).adminApiKeys).toEqual([{ name: 'ops', key: 'k'.repeat(32), scope: 'helpdesk' }]);
  });
});
