/**
 * How V8 sizes the heap of a long-running `sspr start` (docs/decisions/0028). Left to itself,
 * V8 lets the old generation grow to several times its live size (~35 MiB here) before a full
 * collection and the young generation to two 16 MiB semi-spaces: a sawtooth between ~130 and
 * ~210 MiB resident under load, all of it garbage waiting. `lean` keeps the young generation
 * at its initial 1 MiB semi-space and collects the old one when it is 20 % past its live size.
 *
 * Both flags are read by the collector each time it decides, so they work when set from
 * inside the process (main.ts does, before the other modules load). Neither is accepted
 * in NODE_OPTIONS, which is why the product sets them rather than the operator.
 */
export const HEAP_MODES = ['lean', 'v8'] as const;
export type HeapMode = (typeof HEAP_MODES)[number];

const LEAN: Record<string, string> = { 'semi-space-growth-factor': '1', 'heap-growing-percent': '20' };
/** node flags of the operator's that size the young generation themselves */
const NURSERY = ['max-semi-space-size', 'min-semi-space-size', 'semi-space-growth-factor'];

/** the names of the V8 flags in a node command line or NODE_OPTIONS, dashes for underscores */
export function flagNames(args: readonly string[]): Set<string> {
  return new Set(args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]!.replaceAll('_', '-')));
}

/** the V8 flags `mode` sets; a heap flag the operator gave node wins over ours */
export function heapFlags(mode: HeapMode, operatorArgs: readonly string[]): string[] {
  if (mode === 'v8') return [];
  const given = flagNames(operatorArgs);
  return Object.entries(LEAN)
    .filter(([name]) => !given.has(name) && !(name === 'semi-space-growth-factor' && NURSERY.some((n) => given.has(n))))
    .map(([name, value]) => `--${name}=${value}`);
}

/** the mode of SSPR_HEAP; a value loadConfig refuses stops the process soon after, and changes nothing here */
export const heapMode = (raw: string | undefined): HeapMode => (raw === 'v8' ? 'v8' : 'lean');
