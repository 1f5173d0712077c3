import type { Kysely } from 'kysely';
import type { Config } from '../../config.js';
import type { Clock, Directory, Hasher, Random } from '../../ports.js';
import type { Database } from '../store/schema.js';
import { ActiveDirectory } from './ad.js';
import { BuiltinDirectory } from './builtin.js';
import type { LdapSettings } from './ldap-config.js';
import { LdapConnector, describe, first } from './ldap-connection.js';
import { OpenLdapDirectory } from './ldap.js';

export interface DirectoryDeps {
  db: Kysely<Database>;
  hasher: Hasher;
  clock: Clock;
  random: Random;
}

/** Active Directory announces LDAP_CAP_ACTIVE_DIRECTORY_OID in its root DSE. */
const AD_CAPABILITY = '1.2.840.113556.1.4.800';

/** reads the root DSE to tell Active Directory from OpenLDAP */
export async function detectFlavor(s: LdapSettings): Promise<'openldap' | 'ad'> {
  let dse;
  try {
    const { client } = await new LdapConnector(s).open();
    try {
      [dse] = (await client.search('', { scope: 'base', attributes: ['supportedCapabilities', 'vendorName'] })).searchEntries;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  } catch (err) {
    throw new Error(`cannot read the directory's root DSE to tell OpenLDAP from Active Directory (${describe(err)}); set SSPR_LDAP_FLAVOR to skip this`);
  }
  const caps = dse ? ([] as unknown[]).concat(dse.supportedCapabilities ?? []).map(String) : [];
  return caps.includes(AD_CAPABILITY) || /microsoft|samba/i.test(first(dse ?? { dn: '' }, 'vendorName') ?? '') ? 'ad' : 'openldap';
}

export function ldapDirectory(s: LdapSettings, flavor: 'openldap' | 'ad'): OpenLdapDirectory | ActiveDirectory {
  return flavor === 'ad' ? new ActiveDirectory(s) : new OpenLdapDirectory(s);
}

/** The one place that turns SSPR_DIRECTORY_URL into a directory. */
export async function directoryFrom(config: Pick<Config, 'directoryUrl' | 'ldap'>, deps: DirectoryDeps): Promise<Directory> {
  if (config.directoryUrl === 'builtin' || !config.ldap) return new BuiltinDirectory(deps.db, deps.hasher, deps.clock, deps.random);
  const s = config.ldap;
  return ldapDirectory(s, s.flavor === 'auto' ? await detectFlavor(s) : s.flavor);
}
