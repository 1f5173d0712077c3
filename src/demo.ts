import type { BuiltinDirectory } from './adapters/directory/builtin.js';
import type { Store } from './adapters/store/store.js';

/** Demo users for `npm start`; each has prefilled contacts so a reset works at once. */
export const DEMO_USERS = [
  { username: 'alice@example.org', password: 'Alice-Demo-2026!', givenName: 'Alice', surname: 'Cohen', email: 'alice@example.org', mobile: '+972501234567', groups: ['staff'] },
  { username: 'bob@example.org', password: 'Bob-Demo-2026!', givenName: 'Bob', surname: 'Levi', email: 'bob@example.org', groups: ['staff'], locked: true },
  { username: 'dana@example.org', password: 'Dana-Demo-2026!', givenName: 'Dana', surname: 'Mizrahi', email: 'dana@example.org', mobile: '+972527654321', groups: ['staff'] },
  { username: 'admin@example.org', password: 'Admin-Demo-2026!', givenName: 'Avi', surname: 'Admin', email: 'admin@example.org', mobile: '+972541112233', groups: ['it'], isAdmin: true },
] as const;

export async function seedDemo(store: Store, dir: BuiltinDirectory): Promise<boolean> {
  if ((await dir.count()) > 0) return false;
  try {
    await store.transaction(async (r) => {
      for (const u of DEMO_USERS) await dir.add({ ...u, groups: [...u.groups] }, r.tx);
    });
  } catch (e) {
    // instances started together on an empty database race here: one seeds, the others find it done
    if ((await dir.count()) > 0) return false;
    throw e;
  }
  return true;
}
