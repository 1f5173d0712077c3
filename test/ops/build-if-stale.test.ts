// `npm start` builds only when dist/ is missing or older than its sources (scripts/build-if-stale.mjs).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = join(process.cwd(), 'scripts', 'build-if-stale.mjs');
const check = (root: string) => spawnSync(process.execPath, [SCRIPT, '--check'], { env: { ...process.env, SSPR_BUILD_ROOT: root }, encoding: 'utf8' });

function file(root: string, path: string, at: number) {
  const f = join(root, path);
  mkdirSync(dirname(f), { recursive: true });
  writeFileSync(f, '');
  utimesSync(f, at, at);
}

describe('npm start on a built tree', () => {
  it('builds on a fresh clone, not when dist/ is current, again when a source changed', () => {
    const root = mkdtempSync(join(tmpdir(), 'sspr-build-'));
    const t = 1_700_000_000;
    for (const f of ['src/cli/main.ts', 'src/core/password/rules.ts', 'tsconfig.json', 'package.json', 'package-lock.json']) file(root, f, t);
    // a fresh clone: nothing built
    expect(check(root)).toMatchObject({ status: 1, stdout: 'stale: missing output\n' });
    for (const f of ['dist/cli/main.js', 'dist/web/client/build.js']) file(root, f, t + 10);
    expect(check(root).status).toBe(1); // the browser bundles are missing still
    file(root, 'public/build/strength.js', t + 10);
    expect(check(root)).toMatchObject({ status: 0, stdout: 'current\n' });
    // one source, deep in src/, edited after the build
    file(root, 'src/core/password/rules.ts', t + 20);
    expect(check(root)).toMatchObject({ status: 1, stdout: 'stale: sources changed\n' });
    for (const f of ['dist/cli/main.js', 'dist/web/client/build.js', 'public/build/strength.js']) file(root, f, t + 30);
    expect(check(root).status).toBe(0);
    // a changed lock file (new dependency versions) rebuilds too
    file(root, 'package-lock.json', t + 40);
    expect(check(root).status).toBe(1);
  });
});
