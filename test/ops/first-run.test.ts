// The first run: `sspr start --demo` as a real process, with no SSPR_PUBLIC_URL set.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listenUrl, loadConfig } from '../../src/config.js';
import { envWithoutSettings } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sspr-first-run-'));
const env = (): Record<string, string> => {
  return { ...envWithoutSettings(), SSPR_PORT: '0', SSPR_HOST: '127.0.0.1', SSPR_LOG_LEVEL: 'info', SSPR_DATABASE_URL: `sqlite:${join(dir, 'demo.db')}`, SSPR_BREACHED_FILTER: join(dir, 'no-filter') };
};

describe('the public URL without SSPR_PUBLIC_URL', () => {
  it('is the listen address and port, loopback and any-address named localhost', () => {
    expect(listenUrl('127.0.0.1', 8080).href).toBe('http://localhost:8080/');
    expect(listenUrl('0.0.0.0', 9000).href).toBe('http://localhost:9000/');
    expect(listenUrl('::', 9000).href).toBe('http://localhost:9000/');
    expect(listenUrl('192.0.2.7', 8443).href).toBe('http://192.0.2.7:8443/');
    expect(listenUrl('2001:db8::5', 8080).href).toBe('http://[2001:db8::5]:8080/');
    expect(listenUrl('sspr.internal', 80).href).toBe('http://sspr.internal/');
    const c = loadConfig({}, { SSPR_DEMO: '1', SSPR_HOST: '192.0.2.7', SSPR_PORT: '9090' });
    expect(c.publicUrl.origin).toBe('http://192.0.2.7:9090');
    expect(c.publicUrlFromListen).toBe(true);
    expect(c.mailFrom).toBe('OpenSSPR <no-reply@192.0.2.7>');
    const set = loadConfig({}, { SSPR_DEMO: '1', SSPR_PORT: '9090', SSPR_PUBLIC_URL: 'https://sspr.example.org' });
    expect(set.publicUrl.origin).toBe('https://sspr.example.org');
    expect(set.publicUrlFromListen).toBe(false);
  });
});

describe('sspr start --demo on a first run', () => {
  it('prints the banner after "listening", with the port actually bound, and keeps it on screen; /docs names the same address', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start', '--demo'], { env: env() });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', () => {});
    try {
      const deadline = Date.now() + 40_000;
      while (!/Admin \(API\):.*\n\n/.test(out)) {
        if (Date.now() > deadline) throw new Error(`no banner: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const bound = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      expect(bound).toBeDefined();
      const base = `http://localhost:${bound}`;
      expect(out).toContain(`OpenSSPR is running at ${base}\n`);
      expect(out).toContain(`${base}/dev/outbox`);
      expect(out.indexOf('Server listening')).toBeLessThan(out.indexOf('OpenSSPR is running at'));
      expect(out).not.toContain('localhost:8080');

      // the API reference names the address the service is really at
      const spec = (await (await fetch(`http://127.0.0.1:${bound}/docs/json`)).json()) as { servers: { url: string }[] };
      expect(spec.servers).toEqual([{ url: base }]);

      // requests do not scroll the banner away: nothing is logged for them
      const before = out.length;
      for (const path of ['/reset', '/account', '/dev/outbox', '/assets/app.css']) await (await fetch(`http://127.0.0.1:${bound}${path}`)).text();
      await new Promise((r) => setTimeout(r, 500));
      expect(out.slice(before)).toBe('');
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('close', r));
    }
  }, 60_000);
});
