#!/usr/bin/env node
// The entry point holds only this. ESM loads and parses a module's whole static graph before it
// runs any of it, and that loading alone grows the young generation to 8 MiB halves; so the heap
// of `sspr start`, the one long-running command, is sized first (heap.ts) and the program is
// loaded after, by a dynamic import.
import v8 from 'node:v8';
import { heapFlags, heapMode } from './heap.js';

if (process.argv[2] === 'start') {
  const flags = heapFlags(heapMode(process.env.SSPR_HEAP), [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]);
  if (flags.length) v8.setFlagsFromString(flags.join(' '));
}
await import('./commands.js');
