// `sspr start` sizes its own heap (docs/decisions/0028): a real process, its young generation
// read from /metrics after it has loaded every module and answered requests. The process runs
// compiled JavaScript, as an installed service does: under a TypeScript loader the loader's own
// start grows the young generation before main.js's first import can hold it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envWithoutSettings } from '../support/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'sspr-heap-'));
const TOKEN = 'h'.repeat(40);
const MiB = 1024 * 1024;
// a sibling of src/ so that the modules that find the repository from their own place still do
const OUT = join(process.cwd(), '.heap-test-build');

beforeAll(async () => {
  const sources = readdirSync('src', { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
  await build({ entryPoints: sources.map((f) => join('src', f)), outdir: OUT, outbase: 'src', format: 'esm', platform: 'node', target: 'node20', logLevel: 'error' });
}, 60_000);
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

/** the young generation's size in bytes of an `sspr start` with `extra` in its environment */
async function newSpace(name: string, extra: Record<string, string>): Promise<number> {
  const env = envWithoutSettings('NODE_OPTIONS');
  const p = spawn(process.execPath, [join(OUT, 'cli/main.js'), 'start', '--demo'], {
    env: { ...env, SSPR_PORT: '0', SSPR_HOST: '127.0.0.1', SSPR_LOG_LEVEL: 'info', SSPR_DATABASE_URL: `sqlite:${join(dir, `${name}.db`)}`, SSPR_BREACHED_FILTER: join(dir, 'no-filter'), SSPR_METRICS_TOKEN: TOKEN, ...extra },
  });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.stderr.on('data', (d) => (out += d));
  const closed = new Promise<number | null>((r) => p.on('close', r));
  try {
    const deadline = Date.now() + 40_000;
    let port: string | undefined;
    while (!(port = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1])) {
      if (Date.now() > deadline || p.exitCode !== null) throw new Error(`not started: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // some work, so a nursery free to grow has had reason to
    for (let i = 0; i < 20; i++) await (await fetch(`http://127.0.0.1:${port}/reset`)).text();
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const size = /^sspr_process_nodejs_heap_space_size_total_bytes\{space="new"\} (\d+)$/m.exec(metrics)?.[1];
    expect(size, metrics.slice(0, 500)).toBeDefined();
    return Number(size);
  } finally {
    p.kill('SIGTERM');
    expect(await closed).toBe(0);
  }
}

describe('the heap of sspr start', () => {
  it('holds the young generation at its initial 1 MiB semi-spaces by default, from before the modules load', async () => {
    expect(await newSpace('lean', {})).toBeLessThanOrEqual(2 * MiB);
  }, 60_000);

  it("leaves V8's sizing with SSPR_HEAP=v8, and the operator's own nursery size wins", async () => {
    expect(await newSpace('v8', { SSPR_HEAP: 'v8' })).toBeGreaterThan(2 * MiB);
    expect(await newSpace('own', { NODE_OPTIONS: '--max-semi-space-size=4' })).toBeGreaterThan(2 * MiB);
  }, 90_000);

  it('is read from the environment only: SSPR_HEAP in the SSPR_CONFIG file stops the service', async () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ SSPR_HEAP: 'v8' }));
    const { loadConfig, ConfigError } = await import('../../src/config.js');
    expect(() => loadConfig({ SSPR_CONFIG: file })).toThrow(ConfigError);
    expect(() => loadConfig({ SSPR_CONFIG: file })).toThrow(/SSPR_HEAP belongs in the environment/);
    expect(() => loadConfig({ SSPR_HEAP: 'small' })).toThrow(/SSPR_HEAP must be lean or v8/);
  });
});
