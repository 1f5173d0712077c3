#!/usr/bin/env node
// The entry point holds only this. ESM loads and parses a module's whole static graph before it
// runs any of it, and that loading alone grows the young generation to 8 MiB halves; so the heap
// is sized first (size-heap.ts) and the program is loaded after, by a dynamic import.
import './size-heap.js';
await import('./commands.js');
