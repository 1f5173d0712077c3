// The usage report over a million audit entries. Fills a fresh SQLite database (or the
// PostgreSQL database in SSPR_BENCH_DATABASE_URL) with 1 000 000 audit rows spread over 90 days
// in the mix a busy deployment writes (flow steps, finished resets and unlocks, refused
// passwords, blocks, sign-ins), then times the usage report for 30 days by day, 7 days by hour,
// and the audit page's newest-first filtered read.
//
//   npm run build && node bench/reports.js [--record]
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../dist/adapters/store/store.js';
import { ACTIVITIES } from '../dist/adapters/store/audit.js';
import { PolicyService } from '../dist/services/policy-service.js';
import { ReportService } from '../dist/services/report-service.js';
import { AuditQuery } from '../dist/services/audit-query.js';
import { machine, record } from './common.js';

const ROWS = Number(process.env.SSPR_BENCH_AUDIT_ROWS ?? 1_000_000);
const url = process.env.SSPR_BENCH_DATABASE_URL ?? `sqlite:${join(tmpdir(), `sspr-bench-reports-${randomBytes(4).toString('hex')}.db`)}`;
const store = Store.open(url);
await store.migrate();
const DAY = 86_400_000;
const end = Math.floor(Date.now() / DAY) * DAY;
const start = end - 90 * DAY;
const METHODS = ['email', 'sms', 'email+sms', 'authenticator'];

const t0 = performance.now();
let seq = Number((await store.db.selectFrom('audit_head').select('seq').executeTakeFirstOrThrow()).seq);
for (let done = 0; done < ROWS; ) {
  const batch = [];
  for (let i = 0; i < 2000 && done < ROWS; i++, done++) {
    const r = done % 20;
    const flow = `f${Math.floor(done / 5)}`;
    const base = { seq: ++seq, at: start + Math.floor(Math.random() * 90 * DAY), actor: `u${done % 5000}`, target: `u${done % 5000}`, source_ip: '10.0.0.1', user_agent: 'bench', flow_id: flow, details: null, prev_hash: '0', hash: '0', reason: null, step: null, method: null };
    if (r < 12) batch.push({ ...base, activity: ACTIVITIES.flowProgress, step: r % 2 ? 'verify' : 'challenge', method: 'email', result: r === 11 ? 'failure' : 'success' });
    else if (r === 12) batch.push({ ...base, activity: ACTIVITIES.flowProgress, step: 'password', result: 'failure' });
    else if (r < 16) batch.push({ ...base, activity: ACTIVITIES.resetSelf, method: METHODS[done % 4], result: 'success' });
    else if (r === 16) batch.push({ ...base, activity: ACTIVITIES.unlockSelf, method: 'email', result: 'success' });
    else if (r === 17) batch.push({ ...base, activity: ACTIVITIES.blocked, method: 'sms', result: 'failure', details: JSON.stringify({ intent: 'reset' }) });
    else batch.push({ ...base, activity: ACTIVITIES.signIn, result: 'success', flow_id: null });
  }
  await store.db.insertInto('audit').values(batch).execute();
}
const fill = performance.now() - t0;
await store.db.updateTable('audit_head').set({ seq }).execute();

const policy = new PolicyService(store, { now: () => Date.now() });
const reports = new ReportService({ store, methods: new Map(), policy });
const audit = new AuditQuery(store);
const time = async (label, fn, runs = 5) => {
  await fn();
  const ms = [];
  for (let i = 0; i < runs; i++) {
    const a = performance.now();
    await fn();
    ms.push(performance.now() - a);
  }
  ms.sort((x, y) => x - y);
  return `| ${label} | ${ms[Math.floor(runs / 2)].toFixed(0)} ms | ${ms[runs - 1].toFixed(0)} ms |`;
};
const iso = (t) => new Date(t).toISOString();
const lines = [
  `## Reports over ${ROWS.toLocaleString('en')} audit rows (${url.startsWith('postgres') ? 'PostgreSQL' : 'SQLite'}) — ${machine().date}`,
  '',
  `${JSON.stringify(machine())}; fill ${(fill / 1000).toFixed(0)} s`,
  '',
  '| query | median | slowest of 5 |',
  '|---|---|---|',
  await time('usage, 30 days by day', () => reports.usage({ from: iso(end - 30 * DAY), to: iso(end), interval: 'day' })),
  await time('usage, 90 days by day', () => reports.usage({ from: iso(start), to: iso(end), interval: 'day' })),
  await time('usage, 7 days by hour', () => reports.usage({ from: iso(end - 7 * DAY), to: iso(end), interval: 'hour' })),
  await time('audit page, newest 50 of one activity', () => audit.page({ activity: ACTIVITIES.unlockSelf })),
  await time('audit page, newest 50 of one actor', () => audit.page({ actor: 'u42' })),
];
console.log(lines.join('\n'));
if (process.argv.includes('--record')) record(lines);
await store.close();
