import v8 from 'node:v8';
import { heapFlags, heapMode } from './heap.js';

// imported by main.ts before the rest of the program is loaded (see there); for `sspr start`
// only, the one long-running command
if (process.argv[2] === 'start') {
  const flags = heapFlags(heapMode(process.env.SSPR_HEAP), [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)]);
  if (flags.length) v8.setFlagsFromString(flags.join(' '));
}
