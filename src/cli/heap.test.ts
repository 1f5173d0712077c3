import { describe, expect, it } from 'vitest';
import { flagNames, heapFlags, heapMode } from './heap.js';

describe('the heap sizing of sspr start', () => {
  it('is lean unless SSPR_HEAP says v8', () => {
    expect(heapMode(undefined)).toBe('lean');
    expect(heapMode('lean')).toBe('lean');
    expect(heapMode('v8')).toBe('v8');
    expect(heapFlags('lean', [])).toEqual(['--semi-space-growth-factor=1', '--heap-growing-percent=20']);
    expect(heapFlags('v8', [])).toEqual([]);
  });

  it("leaves each flag the operator gave node to the operator, spelled with dashes or underscores", () => {
    expect(flagNames(['--import', 'tsx', '--max_semi_space_size=8', '', '--heap-growing-percent=50'])).toEqual(new Set(['import', 'max-semi-space-size', 'heap-growing-percent']));
    expect(heapFlags('lean', ['--import', 'tsx'])).toEqual(['--semi-space-growth-factor=1', '--heap-growing-percent=20']);
    // a nursery sized by the operator is not held at its initial size
    for (const own of ['--max-semi-space-size=8', '--min_semi_space_size=2', '--semi-space-growth-factor=2'])
      expect(heapFlags('lean', [own])).toEqual(['--heap-growing-percent=20']);
    expect(heapFlags('lean', ['--heap_growing_percent=50'])).toEqual(['--semi-space-growth-factor=1']);
    expect(heapFlags('lean', ['--max-semi-space-size=8', '--heap-growing-percent=0'])).toEqual([]);
  });
});
