import { describe, expect, it } from 'vitest';
import { Store } from '../../src/adapters/store/store.js';
import { DATABASES, freshDatabaseUrl, freshDatabaseUrls } from './databases.js';

describe.each(DATABASES)('fresh %s database', (kind) => {
  it('migrates, stores a kv row and rolls back a failed transaction', async () => {
    const url = await freshDatabaseUrl(kind);
    expect(url.startsWith(kind === 'sqlite' ? 'sqlite:' : 'postgres://')).toBe(true);
    const store = Store.open(url);
    try {
      expect(store.dialect).toBe(kind);
      await store.migrate();

      expect(await store.r.kv.getOrInsert('k', 'v')).toBe('v');
      expect(await store.r.kv.getOrInsert('k', 'other')).toBe('v');
      expect(await store.r.kv.get('k')).toBe('v');

      await expect(
        store.transaction(async (r) => {
          await r.kv.getOrInsert('rolled-back', 'x');
          expect(await r.kv.get('rolled-back')).toBe('x');
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.r.kv.get('rolled-back')).toBeNull();
    } finally {
      await store.close();
    }
  });
});

describe('freshDatabaseUrls', () => {
  it('returns a distinct empty database of every kind on each call', async () => {
    const a = await freshDatabaseUrls();
    const b = await freshDatabaseUrls();
    expect(a.map((d) => d.name)).toEqual([...DATABASES]);
    for (const [i, d] of a.entries()) expect(d.url).not.toBe(b[i]?.url);
    for (const { url } of a) {
      const store = Store.open(url);
      try {
        await store.migrate();
        expect(await store.r.kv.get('k')).toBeNull();
      } finally {
        await store.close();
      }
    }
  });
});
