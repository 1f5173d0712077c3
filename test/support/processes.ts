// Small helpers for the throwaway servers the test run starts.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** a port on 127.0.0.1 that was free a moment ago */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** the last lines of a server's log, for a failure message */
export function logTail(file: string, lines = 60): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no server log)';
  }
}

/** an execFile error with what the command printed (its message already carries stderr) */
export function errorText(err: unknown): string {
  const e = err as { message?: string; stdout?: string } | null;
  return [e?.message ?? String(err), e?.stdout].filter(Boolean).join('\n');
}

/** this process's environment without any SSPR_* setting (and without `drop`): a child process's settings are only those a test gives it */
export function envWithoutSettings(...drop: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('SSPR_') && !drop.includes(k) && v !== undefined) env[k] = v;
  return env;
}
