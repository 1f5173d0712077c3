import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BreachedFilterStore, breachedSettingsFromEnv, DEFAULT_FILTER_PATH, loadFilterFile, type BreachedLogger } from './filter-store.js';
import { importBreached } from './import.js';

let dir: string;
let path: string;
let store: BreachedFilterStore | null = null;
beforeEach(() => {
  dir = mkdtempSync(join(os.tmpdir(), 'sspr-breached-store-'));
  path = join(dir, 'breached.filter');
});
afterEach(() => {
  store?.close();
  store = null;
  rmSync(dir, { recursive: true, force: true });
});

function recorder(): BreachedLogger & { warnings: string[]; infos: string[] } {
  const warnings: string[] = [];
  const infos: string[] = [];
  return { warnings, infos, warn: (_o, m) => warnings.push(m), info: (_o, m) => infos.push(m) };
}

async function importWords(words: string[], target = path): Promise<void> {
  const input = join(dir, `words-${Math.random()}.txt`);
  writeFileSync(input, words.join('\n') + '\n');
  await importBreached({ input, output: target });
  rmSync(input);
}

async function eventually(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('breachedSettingsFromEnv', () => {
  it('defaults: ./data/breached.filter, online check off', () => {
    expect(breachedSettingsFromEnv({})).toEqual({ filterPath: DEFAULT_FILTER_PATH, rangeUrl: null });
    expect(DEFAULT_FILTER_PATH).toBe('./data/breached.filter');
    expect(breachedSettingsFromEnv({ SSPR_BREACHED_RANGE_URL: '  ' }).rangeUrl).toBeNull();
  });

  it('reads both keys', () => {
    expect(breachedSettingsFromEnv({ SSPR_BREACHED_FILTER: '/var/lib/sspr/hibp.filter', SSPR_BREACHED_RANGE_URL: 'https://api.pwnedpasswords.com/' })).toEqual({
      filterPath: '/var/lib/sspr/hibp.filter',
      rangeUrl: 'https://api.pwnedpasswords.com',
    });
    expect(breachedSettingsFromEnv({ SSPR_BREACHED_RANGE_URL: 'http://mirror.internal:8080/hibp' }).rangeUrl).toBe('http://mirror.internal:8080/hibp');
  });

  it('rejects a bad range URL, naming the key', () => {
    for (const bad of ['not a url', 'ftp://x', 'https://x/?q=1', 'https://u:p@x']) {
      expect(() => breachedSettingsFromEnv({ SSPR_BREACHED_RANGE_URL: bad })).toThrow(/SSPR_BREACHED_RANGE_URL/);
    }
  });
});

describe('BreachedFilterStore', () => {
  it('without a filter: answers no, reports nothing loaded, warns once', async () => {
    const log = recorder();
    store = await BreachedFilterStore.open({ path, reloadIntervalMs: 0, logger: log });
    expect(store.loaded).toBe(false);
    expect(store.has('password')).toBe(false);
    expect(store.info()).toBeNull();
    expect(await store.refresh()).toBe('missing');
    expect(log.warnings).toHaveLength(1);
  });

  it('answers from the filter and describes it', async () => {
    await importWords(['password', 'correct horse', 'שלום1234']);
    store = await BreachedFilterStore.open({ path, reloadIntervalMs: 0 });
    expect(store.has('password')).toBe(true);
    expect(store.has('שלום1234')).toBe(true);
    expect(store.has('Password')).toBe(false); // (1 in 256 chance of a false positive; this one is not)
    const info = store.info()!;
    expect(info).toMatchObject({ path, entries: 3, shards: 1, falsePositiveRate: 1 / 256 });
    expect(info.bitsPerEntry).toBeGreaterThan(8);
    expect(info.loadedAt).toBeInstanceOf(Date);
    expect(info.fileModifiedAt).toBeInstanceOf(Date);
  });

  it('picks up a new import while running, without a restart', async () => {
    await importWords(['first-corpus-word']);
    const log = recorder();
    store = await BreachedFilterStore.open({ path, reloadIntervalMs: 20, logger: log });
    const s = store;
    const firstLoad = s.info()!.loadedAt;
    expect(s.has('second-corpus-word')).toBe(false);
    await importWords(['second-corpus-word', 'another']); // renamed over the file the store watches
    await eventually(() => s.has('second-corpus-word'));
    expect(s.info()!.entries).toBe(2);
    expect(s.info()!.loadedAt.getTime()).toBeGreaterThanOrEqual(firstLoad.getTime());
    expect(log.infos.length).toBe(2);
  });

  it('keeps the old filter when the new file is bad, and says so once', async () => {
    await importWords(['kept-word']);
    const log = recorder();
    store = await BreachedFilterStore.open({ path, reloadIntervalMs: 0, logger: log });
    const good = readFileSync(path);
    const broken = join(dir, 'broken');
    writeFileSync(broken, good.subarray(0, good.length - 10)); // truncated copy
    renameSync(broken, path);
    expect(await store.refresh()).toBe('failed');
    expect(store.has('kept-word')).toBe(true);
    expect(await store.refresh()).toBe('unchanged');
    expect(log.warnings).toHaveLength(1);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 1]! ^= 1;
    writeFileSync(broken, flipped);
    renameSync(broken, path);
    expect(await store.refresh()).toBe('failed');
    expect(store.has('kept-word')).toBe(true);
    // the file disappears: keep answering from memory
    rmSync(path);
    expect(await store.refresh()).toBe('missing');
    expect(store.has('kept-word')).toBe(true);
    // a good file again
    await importWords(['recovered-word']);
    expect(await store.refresh()).toBe('reloaded');
    expect(store.has('recovered-word')).toBe(true);
  });

  it('shares one check between concurrent refreshes', async () => {
    await importWords(['x1']);
    store = await BreachedFilterStore.open({ path, reloadIntervalMs: 0 });
    await importWords(['x2']);
    const [a, b] = await Promise.all([store.refresh(), store.refresh()]);
    expect([a, b]).toEqual(['reloaded', 'reloaded']);
    expect(await store.refresh()).toBe('unchanged');
  });

  it('loadFilterFile rejects what is not a filter', async () => {
    writeFileSync(path, '5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n');
    await expect(loadFilterFile(path)).rejects.toThrow(/magic|shorter/);
    await expect(loadFilterFile(dir)).rejects.toThrow();
  });
});
