import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Client, InvalidCredentialsError, ResultCodeError, type Entry, type SearchOptions } from 'ldapts';
import { SsprError } from '../../core/errors.js';
import type { LdapSettings } from './ldap-config.js';

/** A network, TLS or server-availability failure: the directory cannot be used now. */
export class DirectoryUnreachable extends Error {
  constructor(
    message: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'DirectoryUnreachable';
  }
}

/** result codes that mean "try again later / elsewhere", not "no" */
const UNAVAILABLE_CODES = new Set([51 /* busy */, 52 /* unavailable */, 80 /* other: e.g. slapd shutting down */, 3 /* time limit */]);

/** a failure is the directory's answer (a result code) or the directory's absence (anything else) */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof DirectoryUnreachable) return true;
  if (err instanceof ResultCodeError) return UNAVAILABLE_CODES.has(err.code);
  return true;
}

/**
 * maps an adapter failure to what the person sees: 503 when unreachable; any other refusal by
 * the directory (access rights, a wrong base DN) needs an administrator: SSPR_0029
 */
export function asServiceError(err: unknown): never {
  if (err instanceof SsprError) throw err;
  if (isUnreachable(err)) throw new SsprError('SSPR_0030');
  if (err instanceof ResultCodeError) throw new SsprError('SSPR_0029');
  throw err;
}

type ClientOptions = ConstructorParameters<typeof Client>[0];

/**
 * Opens connections to the configured servers in order (failover), with TLS validated against
 * the configured CA. A connection never reconnects by itself: ldapts would silently reopen a
 * StartTLS session without TLS, so each client may open its socket only once.
 */
export class LdapConnector {
  constructor(private readonly s: LdapSettings) {}

  private tls(host: string): ConnectionOptions {
    // an IP address is checked against the certificate's IP SANs; SNI takes host names only
    return { ...(this.s.ca ? { ca: [this.s.ca] } : {}), host, ...(isIP(host) ? {} : { servername: host }), minVersion: 'TLSv1.2' };
  }

  private async openOne(url: string): Promise<Client> {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    let plainUsed = false;
    let tlsUsed = false;
    const options: ClientOptions = {
      url,
      connectTimeout: this.s.timeoutMs,
      timeout: this.s.timeoutMs,
      strictDN: false,
      createConnection: ((...args: Parameters<typeof netConnect>) => {
        if (plainUsed) throw new DirectoryUnreachable('connection closed');
        plainUsed = true;
        return netConnect(...args);
      }) as typeof netConnect,
      createSecureConnection: ((...args: Parameters<typeof tlsConnect>) => {
        if (tlsUsed) throw new DirectoryUnreachable('connection closed');
        tlsUsed = true;
        return tlsConnect(...args);
      }) as typeof tlsConnect,
      ...(u.protocol === 'ldaps:' ? { tlsOptions: this.tls(host) } : {}),
    };
    const client = new Client(options);
    try {
      if (u.protocol === 'ldap:' && this.s.startTls) await client.startTLS(this.tls(host));
      return client;
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
  }

  /** a connected (not yet bound) client to the first server that answers */
  async open(): Promise<{ client: Client; url: string }> {
    let last: unknown = null;
    for (const url of this.s.urls) {
      try {
        const client = await this.openOne(url);
        // ldapts connects lazily; a root DSE read proves the server answers (and TLS holds)
        if (!this.s.startTls || url.startsWith('ldaps:')) await client.search('', { scope: 'base', attributes: ['1.1'] });
        return { client, url };
      } catch (err) {
        last = err;
        if (!isUnreachable(err)) break;
      }
    }
    throw new DirectoryUnreachable(`no directory server answered (${this.s.urls.join(', ')}): ${describe(last)}`, last);
  }

  /**
   * Checks a password by binding as its owner on a connection of its own, so the service
   * account's pooled connections never change identity. Returns the bind error for callers
   * that read AD's sub-codes.
   */
  async bindAs(dn: string, password: string): Promise<{ ok: true } | { ok: false; error: InvalidCredentialsError }> {
    // RFC 4513 5.1.2: an empty password is an unauthenticated bind that "succeeds"
    if (!password) return { ok: false, error: new InvalidCredentialsError('empty password') };
    const { client } = await this.open();
    try {
      await client.bind(dn, password);
      return { ok: true };
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return { ok: false, error: err };
      throw err;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** a client bound as `dn`, for operations a person makes in their own name */
  async boundAs(dn: string, password: string): Promise<Client> {
    const { client } = await this.open();
    try {
      await client.bind(dn, password);
      return client;
    } catch (err) {
      await client.unbind().catch(() => undefined);
      throw err;
    }
  }
}

export function describe(err: unknown): string {
  if (!err) return 'no server configured';
  const e = err as { code?: unknown; message?: string };
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  return `${code}${e.message ?? String(err)}`;
}

/**
 * A few service-account connections, reused across requests. A connection that failed is
 * dropped and the operation retried once on a fresh one (possibly the next server).
 */
export class ServicePool {
  private idle: Client[] = [];
  private open = 0;
  private waiting: ((c: Client | null) => void)[] = [];
  private closed = false;

  constructor(
    private readonly connector: LdapConnector,
    private readonly s: LdapSettings,
  ) {}

  private async fresh(): Promise<Client> {
    const { client } = await this.connector.open();
    try {
      await client.bind(this.s.bindDn, this.s.bindPassword);
    } catch (err) {
      await client.unbind().catch(() => undefined);
      if (err instanceof InvalidCredentialsError) throw new DirectoryUnreachable('the service account bind was refused (check SSPR_LDAP_BIND_DN and SSPR_LDAP_BIND_PASSWORD)', err);
      throw err;
    }
    return client;
  }

  private async acquire(): Promise<Client> {
    if (this.closed) throw new DirectoryUnreachable('directory connections are closed');
    for (;;) {
      const c = this.idle.pop();
      if (!c) break;
      if (c.isConnected && c.isBound) return c;
      this.open--;
      await c.unbind().catch(() => undefined);
    }
    if (this.open < this.s.poolSize) {
      this.open++;
      try {
        return await this.fresh();
      } catch (err) {
        this.open--;
        this.handOver(null);
        throw err;
      }
    }
    const c = await new Promise<Client | null>((res) => this.waiting.push(res));
    return c ?? this.acquire();
  }

  private handOver(c: Client | null): void {
    const next = this.waiting.shift();
    if (next) next(c);
    else if (c) this.idle.push(c);
  }

  private release(c: Client, broken: boolean): void {
    if (broken || this.closed) {
      this.open--;
      void c.unbind().catch(() => undefined);
      this.handOver(null);
    } else this.handOver(c);
  }

  /** runs `fn` on a service-account connection; one retry when the connection broke */
  async use<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const c = await this.acquire();
      try {
        const r = await fn(c);
        this.release(c, false);
        return r;
      } catch (err) {
        const broken = isUnreachable(err);
        this.release(c, broken);
        if (!broken || attempt > 0) throw err;
      }
    }
  }

  async search(base: string, options: SearchOptions): Promise<Entry[]> {
    return this.use(async (c) => (await c.search(base, options)).searchEntries);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w(null);
    await Promise.all(this.idle.splice(0).map((c) => c.unbind().catch(() => undefined)));
  }
}

// ---------- values ----------

export const first = (e: Entry, attr: string): string | null => {
  const v = e[attr] ?? e[Object.keys(e).find((k) => k.toLowerCase() === attr.toLowerCase()) ?? ''];
  const x = Array.isArray(v) ? v[0] : v;
  if (x === undefined || x === null) return null;
  const s = Buffer.isBuffer(x) ? x.toString('utf8') : String(x);
  return s === '' ? null : s;
};

export const all = (e: Entry, attr: string): string[] => {
  const v = e[attr] ?? e[Object.keys(e).find((k) => k.toLowerCase() === attr.toLowerCase()) ?? ''];
  const xs = v === undefined ? [] : Array.isArray(v) ? v : [v];
  return xs.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
};

export const firstBuffer = (e: Entry, attr: string): Buffer | null => {
  const v = e[attr] ?? e[Object.keys(e).find((k) => k.toLowerCase() === attr.toLowerCase()) ?? ''];
  const x = Array.isArray(v) ? v[0] : v;
  return Buffer.isBuffer(x) ? x : null;
};

/** DNs compare case-insensitively and without spaces around separators (enough for group DNs from one server) */
export const sameDn = (a: string, b: string): boolean => normDn(a) === normDn(b);
export const normDn = (dn: string): string => dn.trim().replace(/\s*([,=+])\s*/g, '$1').toLowerCase();
