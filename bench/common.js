import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';

/** The facts every recorded result carries: what ran it, and how busy the machine was. */
export function machine() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cpu: `${cpus[0]?.model.trim() ?? 'unknown'} × ${cpus.length}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    load: os.loadavg()[0].toFixed(1),
    threadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
  };
}

const RESULTS = new URL('./RESULTS.md', import.meta.url);

/** Appends a dated section to bench/RESULTS.md (append only; the header is written once). */
export function record(lines) {
  if (!existsSync(RESULTS)) {
    writeFileSync(
      RESULTS,
      '# Benchmark results\n\nSections are appended by `npm run bench -- --record` (bench/run.js) and `node bench/breached.js --record`; each script describes its measurements at its top.\n',
    );
  }
  appendFileSync(RESULTS, '\n' + lines.join('\n') + '\n');
  process.stderr.write('… appended to bench/RESULTS.md\n');
}
