/**
 * The peer that bench/peer.js measures OpenSSPR against: Better Auth with e-mail and password,
 * SQLite (better-sqlite3, WAL) in PEER_DIR, or PostgreSQL at PEER_DATABASE_URL through a pool of
 * 10 connections (OpenSSPR's default pool), Argon2id with OpenSSPR's parameters, plain Node
 * http on 127.0.0.1:PORT. Prints "ready" on stdout once it listens.
 *
 * Two routes outside Better Auth's router exist for the bench alone: POST /bench/users adds
 * users, GET /bench/token?email= hands over the last reset token sent to that address (the
 * stand-in for reading the e-mail).
 */
import http from 'node:http';
import { join } from 'node:path';
import { hash, verify } from '@node-rs/argon2';
import Database from 'better-sqlite3';
import pg from 'pg';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';

const port = Number(process.env.PORT);
const baseURL = `http://127.0.0.1:${port}`;
// the same as OpenSSPR's ARGON2_PARAMS (src/adapters/crypto.ts), so both spend the same on a hash
const ARGON2 = { algorithm: 2 /* Argon2id */, memoryCost: 19 * 1024, timeCost: 2, parallelism: 1 };

function openDatabase() {
  if (process.env.PEER_DATABASE_URL) {
    const pool = new pg.Pool({ connectionString: process.env.PEER_DATABASE_URL, max: 10 });
    return { db: pool, close: () => pool.end() };
  }
  const db = new Database(join(process.env.PEER_DIR, 'peer.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL'); // what WAL deployments use; OpenSSPR's SQLite store does the same
  return { db, close: () => db.close() };
}
const { db, close } = openDatabase();

const tokens = new Map(); // email → reset token
const auth = betterAuth({
  baseURL,
  secret: process.env.PEER_SECRET,
  database: db,
  telemetry: { enabled: false },
  logger: { disabled: true },
  // off so that the bench measures the work of each request, not how fast refusals are
  rateLimit: { enabled: false },
  emailAndPassword: {
    enabled: true,
    password: { hash: (password) => hash(password, ARGON2), verify: ({ hash: h, password }) => verify(h, password) },
    sendResetPassword: async ({ user, token }) => {
      tokens.set(user.email, token);
    },
  },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

/** adds users with one password hash for all: the bench never signs in, so hashing each is wasted time */
async function addUsers(emails) {
  const ctx = await auth.$context;
  const password = await hash('Peer-Bench-Start-1', ARGON2);
  for (const email of emails) {
    const user = await ctx.internalAdapter.createUser({ email, name: email, emailVerified: true });
    await ctx.internalAdapter.linkAccount({ userId: user.id, providerId: 'credential', accountId: user.id, password });
  }
}

const readJson = (req) =>
  new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });

const authHandler = toNodeHandler(auth);
const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, baseURL);
  if (url.pathname === '/bench/users' && req.method === 'POST') {
    await addUsers((await readJson(req)).emails);
    return res.writeHead(204).end();
  }
  if (url.pathname === '/bench/token') {
    const token = tokens.get(url.searchParams.get('email'));
    if (!token) return res.writeHead(404).end();
    return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
  }
  return authHandler(req, res);
});
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => server.close(async () => (await close(), process.exit(0))));
