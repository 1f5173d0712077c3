import { describe, expect, it } from 'vitest';
import { startWarnings } from './warnings.js';

describe('start warnings', () => {
  it('warns while the helpdesk contact is unset, and not once it is set', () => {
    expect(startWarnings({ helpdeskLink: '' }).join('\n')).toMatch(/no helpdesk contact is set.*sspr policy set helpdeskLink=/);
    expect(startWarnings({ helpdeskLink: 'help@example.org' })).toEqual([]);
  });
});
