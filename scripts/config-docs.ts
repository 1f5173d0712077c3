// Writes the settings table of docs/configuration.md from the one declared table in
// src/config.ts (`npm run docs:config`); a test fails when the committed file differs.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../src/config.js';

export const CONFIGURATION_DOC = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const START = '<!-- settings: generated from src/config.ts by `npm run docs:config` -->';
const END = '<!-- /settings -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function settingsTable(): string {
  const rows = Object.entries(SETTINGS).map(([key, s]) => `| \`${key}\` | ${cell(s.doc)} | ${cell(s.default)} |`);
  return ['| key | meaning | default |', '|---|---|---|', ...rows].join('\n');
}

/** The document with its settings table replaced by the generated one. */
export function withSettingsTable(doc: string): string {
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from < 0 || to < from) throw new Error(`docs/configuration.md lacks the markers ${START} … ${END}`);
  return `${doc.slice(0, from + START.length)}\n${settingsTable()}\n${doc.slice(to)}`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const before = readFileSync(CONFIGURATION_DOC, 'utf8');
  const after = withSettingsTable(before);
  writeFileSync(CONFIGURATION_DOC, after);
  process.stdout.write(after === before ? 'docs/configuration.md is up to date\n' : 'docs/configuration.md updated\n');
}
