// `npm start` runs this instead of a full build: it builds only when the output is missing or
// older than a source it is made from, so a second start does not spend ~20 s compiling.
// Plain JavaScript, so it runs on a fresh clone before anything is compiled.
// --check: only say whether a build is needed (exit 0 current, 1 stale).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = process.env.SSPR_BUILD_ROOT || process.cwd();
/** what the build reads: the sources and what decides how they compile */
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json'];
/** one file from each step of `npm run build`: tsc, then the browser bundles */
const OUTPUTS = ['dist/cli/main.js', 'dist/web/client/build.js', 'public/build/strength.js'];

function newest(path) {
  if (!existsSync(path)) return 0;
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let m = 0;
  for (const name of readdirSync(path)) m = Math.max(m, newest(join(path, name)));
  return m;
}

export function stale(dir = root) {
  const outputs = OUTPUTS.map((f) => join(dir, f));
  if (outputs.some((f) => !existsSync(f))) return 'missing output';
  const built = Math.min(...outputs.map((f) => statSync(f).mtimeMs));
  const source = Math.max(...INPUTS.map((f) => newest(join(dir, f))));
  return source > built ? 'sources changed' : null;
}

const reason = stale();
if (process.argv.includes('--check')) {
  process.stdout.write(reason ? `stale: ${reason}\n` : 'current\n');
  process.exit(reason ? 1 : 0);
}
if (reason) {
  process.stdout.write(`building (${reason})…\n`);
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exit(r.status ?? 1);
}
