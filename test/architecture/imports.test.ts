// The seams hold: the core, the methods and the services speak to the outside world through
// the ports only, and the ports name no adapter. An import of an adapter module or of the
// query builder from one of them fails here, whatever form the import takes.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const SRC = join(ROOT, 'src');
const ADAPTERS = join(SRC, 'adapters');
/** the database library: only the store adapter (and the built-in directory, which joins its transactions) may use it */
const FORBIDDEN_PACKAGES = ['kysely'];

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));

/** every module a source file imports, re-exports or loads dynamically, as written */
const importsOf = (text: string): string[] => ts.preProcessFile(text, true, true).importedFiles.map((f) => f.fileName);

/** the imports of `file` that reach an adapter module or a forbidden package */
function forbiddenImports(file: string, text: string): string[] {
  return importsOf(text).filter((spec) => {
    if (FORBIDDEN_PACKAGES.some((p) => spec === p || spec.startsWith(`${p}/`))) return true;
    if (!spec.startsWith('.')) return false;
    const target = resolve(dirname(file), spec);
    return target === ADAPTERS || target.startsWith(ADAPTERS + sep);
  });
}

const offenders = (files: string[]) =>
  files.flatMap((f) => forbiddenImports(f, readFileSync(f, 'utf8')).map((spec) => `${relative(ROOT, f)} imports ${spec}`));

describe('the seams', () => {
  // Tests beside the code wire real adapters on purpose; the rule is for what they test.
  const inner = ['core', 'methods', 'services'].flatMap((d) => filesUnder(join(SRC, d))).filter((f) => !f.endsWith('.test.ts'));

  it('core, methods and services import nothing from adapters/ and no query builder', () => {
    expect(inner.length).toBeGreaterThan(30);
    expect(offenders(inner)).toEqual([]);
  });

  it('the ports import nothing from adapters/ and no query builder', () => {
    const ports = [join(SRC, 'ports.ts'), ...filesUnder(join(SRC, 'ports'))];
    expect(ports.length).toBeGreaterThan(1);
    expect(offenders(ports)).toEqual([]);
  });

  it('catches every form of such an import', () => {
    const file = join(SRC, 'services', 'example.ts');
    const text = [
      `import type { Store } from '../adapters/store/store.js';`,
      `import { sql } from 'kysely';`,
      `export { toUser } from '../adapters/directory/builtin.js';`,
      `const later = await import('../adapters/crypto.js');`,
      `import type { Selectable } from 'kysely/dist/esm/index.js';`,
      `import type { Directory } from '../ports.js';`,
      `import { ACTIVITIES } from '../core/audit.js';`,
    ].join('\n');
    expect(forbiddenImports(file, text)).toEqual(['../adapters/store/store.js', 'kysely', '../adapters/directory/builtin.js', '../adapters/crypto.js', 'kysely/dist/esm/index.js']);
  });
});
