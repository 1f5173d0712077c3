import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Bundles the browser code (the password strength meter, the report charts, passkeys) into public/build/, which the server
 * serves as /assets/build/…. Run by `npm run build` (after tsc, as dist/web/client/build.js)
 * and by the page tests through `buildClient()`.
 *
 * The entry (strength.js) is small; zxcvbn-ts and its dictionaries go into a content-hashed
 * chunk that the entry imports only when a new-password field is first used.
 */

/** the folder under public/ that holds the bundles */
export const CLIENT_BUILD_DIR = 'build';
/** a chunk's name carries the hash of its content (chunkNames below): it never changes under that name */
export const HASHED_CHUNK = /^chunk-[A-Z0-9]+\.js$/;

/** The package root: this file is src/web/client/build.ts under tsx/vitest and dist/web/client/build.js after tsc. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRIES = [join(ROOT, 'src', 'web', 'client', 'strength.ts'), join(ROOT, 'src', 'web', 'client', 'chart.ts'), join(ROOT, 'src', 'web', 'client', 'passkey.ts')];

export async function buildClient(outdir: string = join(ROOT, 'public', CLIENT_BUILD_DIR)): Promise<string[]> {
  // loaded here, not at the top: the server imports CLIENT_BUILD_DIR and must not load esbuild
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: ENTRIES,
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    charset: 'utf8',
    logLevel: 'silent',
    write: false,
  });
  await mkdir(outdir, { recursive: true });
  // each file appears whole or not at all, chunks before the entries that import them:
  // tests in other workers may be reading the folder
  const entryFiles = new Set(ENTRIES.map((e) => basename(e).replace(/\.ts$/, '.js')));
  // the chart's stylesheet lands beside its entry
  const ordered = [...result.outputFiles].sort((a, b) => Number(entryFiles.has(basename(a.path))) - Number(entryFiles.has(basename(b.path))));
  const names = new Set<string>();
  for (const f of ordered) {
    const tmp = `${f.path}.${process.pid}.tmp`;
    await writeFile(tmp, f.contents);
    await rename(tmp, f.path);
    names.add(basename(f.path));
  }
  // chunks of an earlier build
  for (const name of await readdir(outdir)) {
    if (names.has(name) || name.endsWith('.tmp') || !(name.endsWith('.js') || name.endsWith('.css'))) continue;
    await unlink(join(outdir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  return [...names].sort();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = await buildClient();
  console.log(`public/${CLIENT_BUILD_DIR}: ${files.join(', ')}`);
}
