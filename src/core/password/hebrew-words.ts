/** Common Hebrew password words, their Latin transliterations, and how they look typed on an English layout. */
export const HEBREW_WORDS = [
  'שלום', 'אהבה', 'ישראל', 'סיסמה', 'סיסמא', 'ירושלים', 'תלאביב', 'חיפה', 'מכבי', 'הפועל', 'ביתר', 'אמא', 'אבא', 'משפחה',
  'נשמה', 'מותק', 'חיים', 'אושר', 'שמחה', 'תקווה', 'אלוהים', 'שבת', 'חנוכה', 'פסח', 'צבא', 'מדינה', 'ציון', 'כנרת', 'גליל',
  'שמש', 'ירח', 'כוכב', 'מלכה', 'מלך', 'נסיך', 'נסיכה', 'דבש', 'סבבה', 'יאללה', 'בלגן', 'חבר', 'חברה', 'בית', 'עבודה', 'מחשב',
  'אביב', 'שירה', 'נועה', 'דניאל', 'יוסף', 'משה', 'דוד', 'שרה', 'רחל', 'מיכל', 'תמר', 'יעל', 'אורי', 'איתי', 'עומר', 'נויה',
] as const;

export const HEBREW_TRANSLITERATIONS = [
  'shalom', 'ahava', 'israel', 'yisrael', 'sisma', 'yerushalayim', 'jerusalem', 'telaviv', 'haifa', 'maccabi', 'makabi', 'hapoel',
  'beitar', 'betar', 'ima', 'aba', 'mishpacha', 'neshama', 'motek', 'chaim', 'haim', 'osher', 'simcha', 'tikva', 'hatikva', 'elohim',
  'shabbat', 'shabat', 'hanukkah', 'chanukah', 'pesach', 'tzahal', 'medina', 'zion', 'tsion', 'kinneret', 'galil', 'shemesh',
  'yareach', 'kochav', 'malka', 'melech', 'nasich', 'dvash', 'sababa', 'yalla', 'balagan', 'haver', 'chaver', 'bayit', 'avoda',
  'machshev', 'aviv', 'shira', 'noa', 'daniel', 'yosef', 'moshe', 'david', 'sarah', 'rachel', 'michal', 'tamar', 'yael', 'uri', 'itay',
  'omer', 'noya', 'bibi', 'mazaltov', 'todaraba', 'lehitraot', 'boker', 'erevtov', 'layla', 'laylatov',
] as const;

/** SI-1452 Hebrew keyboard: the Latin key under each Hebrew letter (final forms included). */
const KEYS: Record<string, string> = {
  ק: 'e', ר: 'r', א: 't', ט: 'y', ו: 'u', ן: 'i', ם: 'o', פ: 'p', ש: 'a', ד: 's', ג: 'd', כ: 'f', ע: 'g', י: 'h', ח: 'j', ל: 'k', ך: 'l',
  ף: ';', ז: 'z', ס: 'x', ב: 'c', ה: 'v', נ: 'b', מ: 'n', צ: 'm', ת: ',', ץ: '.',
};
export const typedOnEnglishLayout = (w: string): string => [...w].map((c) => KEYS[c] ?? c).join('');

export const HEBREW_DICTIONARY: readonly string[] = [...HEBREW_WORDS, ...HEBREW_TRANSLITERATIONS, ...HEBREW_WORDS.map(typedOnEnglishLayout)];
