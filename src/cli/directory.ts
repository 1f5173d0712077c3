import { InvalidCredentialsError, SizeLimitExceededError } from 'ldapts';
import { detectFlavor, ldapDirectory } from '../adapters/directory/index.js';
import { sendsPlain } from '../adapters/directory/ldap-config.js';
import { LdapConnector, describe } from '../adapters/directory/ldap-connection.js';
import type { Config } from '../config.js';
import type { DirectoryPasswordRules } from '../ports.js';

type Out = (line: string) => void;

function rulesText(r: DirectoryPasswordRules | null): string {
  if (!r) return 'none readable';
  return `${r.source}: min length ${r.minLength}, history ${r.history}, min age ${r.minAgeSeconds} s, complexity ${r.complexity ? 'on' : 'off'}, lockout after ${r.lockoutThreshold || 'never'}`;
}

/**
 * `sspr directory test [USERNAME]`: connection and TLS to each URL, the service-account bind,
 * and the person as OpenSSPR sees them. Exit 1: connection, TLS or bind failed; 2: the person
 * was not found or the name matches several entries.
 */
export async function directoryTest(config: Config, args: string[], out: Out, err: Out): Promise<number> {
  const username = args[0];
  const s = config.ldap;
  if (!s) {
    out('directory: built-in (SSPR_DIRECTORY_URL=builtin); nothing to connect to');
    return 0;
  }
  if (sendsPlain(s)) err('warning: SSPR_LDAP_ALLOW_PLAIN=1: passwords travel to the directory without TLS');
  let reachable = 0;
  for (const url of s.urls) {
    const one = { ...s, urls: [url] };
    try {
      const { client } = await new LdapConnector(one).open();
      const tls = url.startsWith('ldaps:') ? 'TLS (ldaps)' : s.startTls ? 'TLS (StartTLS)' : 'PLAIN, no TLS';
      try {
        await client.bind(s.bindDn, s.bindPassword);
        out(`${url}: connected over ${tls}, bound as ${s.bindDn}`);
        reachable++;
      } catch (e) {
        err(`${url}: connected over ${tls}, but the bind as ${s.bindDn} failed: ${e instanceof InvalidCredentialsError ? 'wrong DN or password' : describe(e)}`);
        return 1;
      } finally {
        await client.unbind().catch(() => undefined);
      }
    } catch (e) {
      err(`${url}: cannot connect: ${describe((e as { cause?: unknown }).cause ?? e)}`);
    }
  }
  if (reachable === 0) return 1;
  const flavor = s.flavor === 'auto' ? await detectFlavor(s) : s.flavor;
  out(`flavor: ${flavor === 'ad' ? 'Active Directory' : 'OpenLDAP'}${s.flavor === 'auto' ? ' (from the root DSE)' : ''}`);
  const dir = ldapDirectory(s, flavor);
  try {
    if (!username) {
      out(`password policy: ${rulesText(await dir.effectivePolicy())}`);
      return 0;
    }
    const found = await dir.findEntryByUsername(username);
    if (!found) {
      let dns: string[] = [];
      try {
        dns = await dir.matchingDns(username);
      } catch (e) {
        if (!(e instanceof SizeLimitExceededError)) throw e;
        dns = ['(more than 5)'];
      }
      if (dns.length > 1) err(`${username}: ${dns.length} entries match, so OpenSSPR treats the name as unknown:\n  ${dns.join('\n  ')}`);
      else if (dns.length === 1) err(`${username}: ${dns[0]} matches but has no id or username attribute OpenSSPR can use`);
      else err(`${username}: no entry matches under ${s.baseDn}`);
      return 2;
    }
    const u = found.user;
    const lines: [string, string][] = [
      ['dn', found.dn],
      ['id', u.id],
      ['username', u.username],
      ['display name', u.displayName],
      ['given name', u.givenName],
      ['surname', u.surname],
      ['email', u.email ?? '-'],
      ['mobile', u.mobile ?? '-'],
      ['office', u.office ?? '-'],
      ['groups', u.groups.join('; ') || '-'],
      ['admin', u.isAdmin ? 'yes' : 'no'],
      ['enabled', u.enabled ? 'yes' : 'no (disabled in the directory: cannot reset)'],
      ['locked', u.locked ? 'yes' : 'no'],
      ['must change password', u.mustChange ? 'yes' : 'no'],
      ['password policy', rulesText(await dir.effectivePolicy(u.id))],
    ];
    for (const [k, v] of lines) out(`${k}: ${v}`);
    return 0;
  } catch (e) {
    err(`directory error: ${describe(e)}`);
    return 1;
  } finally {
    await dir.close();
  }
}
