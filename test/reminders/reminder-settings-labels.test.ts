// The admin portal's policy page names the reminder settings in both languages instead of showing their keys.
import { describe, expect, it } from 'vitest';
import { translator } from '../../src/i18n.js';

const KEYS = ['expiryRemindersEnabled', 'expiryReminderDays', 'expiryReminderChannels', 'expiryReminderLocale', 'defaultTimeZone', 'expiryDigestRecipients', 'maxPasswordAgeDays'];

describe('reminder settings in the admin portal', () => {
  it('have a label and help in English and Hebrew, and the language choices are named', () => {
    const en = translator('en');
    const he = translator('he');
    for (const key of KEYS) {
      for (const part of ['label', 'help']) {
        const k = `admin.settings.${key}.${part}`;
        expect(en(k), k).not.toBe(k);
        expect(he(k), k).not.toBe(k);
        expect(he(k), k).not.toBe(en(k));
        expect(he(k), k).toMatch(/[\u0590-\u05ff]/);
      }
    }
    expect(en('admin.values.expiryReminderLocale.he')).toContain('Hebrew');
    expect(he('admin.values.expiryReminderLocale.he')).toBe('עברית');
  });
});
