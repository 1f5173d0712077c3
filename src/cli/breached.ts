import { parseArgs } from 'node:util';
import { loadFilterFile, sha1OfPassword } from '../adapters/breached/filter-store.js';
import { importBreached, progressBar } from '../adapters/breached/import.js';

const USAGE = `Usage: sspr breached <command>
  import FILE [--output PATH] [--tmp-dir DIR] [--min-count N] [--quiet]
        build the breached-password filter from an HIBP "SHA1:count" file or a plain list
        (one UTF-8 password a line); replaces the filter (default $SSPR_BREACHED_FILTER or
        ./data/breached.filter) only after the new one is complete and verified. Running
        instances pick it up within seconds. Temporary key files (~8 bytes an entry) go to
        --tmp-dir, default beside the output.
  info [--filter PATH]
        entries, size, bits per entry and false-positive rate of a filter
  check [--filter PATH]
        read one password from standard input; exit 0 if not found, 3 if (probably) breached`;

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);
const num = (n: number) => n.toLocaleString('en-US');

/**
 * `sspr breached …`; returns the exit code (0 ok, 1 failed, 2 usage, 3 breached, 130 interrupted).
 * `filterPath` is SSPR_BREACHED_FILTER as the configuration reads it (environment or SSPR_CONFIG file).
 */
export async function breachedCommand(args: string[], settings: { filterPath: string }): Promise<number> {
  const [sub, ...rest] = args;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        output: { type: 'string' },
        filter: { type: 'string' },
        'tmp-dir': { type: 'string' },
        'min-count': { type: 'string' },
        quiet: { type: 'boolean' },
      },
    });
  } catch (e) {
    err(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;

  if (sub === 'import') {
    if (positionals.length !== 1 || values.filter !== undefined) {
      err(USAGE);
      return 2;
    }
    const minCount = values['min-count'] === undefined ? 1 : Number(values['min-count']);
    if (!Number.isInteger(minCount) || minCount < 1) {
      err('--min-count must be a positive integer');
      return 2;
    }
    const output = values.output ?? settings.filterPath;
    const bar = values.quiet ? null : progressBar(process.stderr);
    const controller = new AbortController();
    const onSignal = () => controller.abort(new Error('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const s = await importBreached({
        input: positionals[0]!,
        output,
        ...(values['tmp-dir'] !== undefined ? { tmpDir: values['tmp-dir'] } : {}),
        minCount,
        signal: controller.signal,
        ...(bar ? { onProgress: bar.onProgress } : {}),
      });
      bar?.end();
      out(`imported ${num(s.entries)} distinct entries into ${s.output} in ${s.seconds.toFixed(1)} s`);
      out(`  lines ${num(s.lines)}: ${num(s.hashLines)} SHA-1, ${num(s.plainLines)} plain, ${num(s.blankLines)} blank, ${num(s.malformedLines)} malformed` +
        (s.skippedLines ? `, ${num(s.skippedLines)} SHA-1 skipped (count 0 or below --min-count)` : ''));
      out(`  filter ${num(s.fileBytes)} bytes, ${s.shards} shards, ${s.bitsPerEntry.toFixed(2)} bits/entry, false-positive rate ${(s.falsePositiveRate * 100).toFixed(2)} %`);
      if (s.hashLines > 0 && s.plainLines > 0) out(`  note: the file mixes SHA-1 lines and plain passwords`);
      return 0;
    } catch (e) {
      bar?.end();
      const interrupted = controller.signal.aborted;
      err(`${interrupted ? 'import interrupted' : `import failed: ${(e as Error).message}`}; ${output} was not changed`);
      return interrupted ? 130 : 1;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  if (sub === 'info' || sub === 'check') {
    if (positionals.length !== 0 || values.output !== undefined || values['tmp-dir'] !== undefined || values['min-count'] !== undefined) {
      err(USAGE);
      return 2;
    }
    const path = values.filter ?? settings.filterPath;
    let filter;
    try {
      ({ filter } = await loadFilterFile(path));
    } catch (e) {
      err(`cannot load ${path}: ${(e as Error).message}`);
      return 1;
    }
    if (sub === 'info') {
      out(`${path}`);
      out(`  entries ${num(filter.entries)}, shards ${filter.shards.length}, ${num(filter.fingerprintBytes)} bytes of fingerprints`);
      out(`  ${filter.bitsPerEntry.toFixed(2)} bits/entry, false-positive rate ${(filter.falsePositiveRate * 100).toFixed(4)} %`);
      return 0;
    }
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    const hit = filter.hasDigest(sha1OfPassword(password));
    out(hit ? 'breached (or one of the 0.39 % false positives)' : 'not found');
    return hit ? 3 : 0;
  }

  err(sub ? `unknown command breached ${sub}\n\n${USAGE}` : USAGE);
  return 2;
}
