import { ZxcvbnFactory } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';
import { HEBREW_DICTIONARY } from '../core/password/hebrew-words.js';

let zxcvbn: ZxcvbnFactory | null = null;

/** zxcvbn score 0–4 of a password, with the person's own words counted as guessable. */
export function strengthScore(password: string, userInputs: string[]): number {
  zxcvbn ??= new ZxcvbnFactory({
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary, hebrew: [...HEBREW_DICTIONARY] },
    translations: en.translations,
  });
  // zxcvbn's cost grows with length; beyond 100 characters the score is 4 in practice
  return zxcvbn.check(password.slice(0, 100), userInputs).score;
}
