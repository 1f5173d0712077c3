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
