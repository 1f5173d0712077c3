/** Active Directory's time values: FILETIME instants and negative intervals, both in 100 ns units. */

/** 100 ns units between 1601-01-01 and 1970-01-01 (UTC) */
const EPOCH_OFFSET = 116_444_736_000_000_000n;
const NEVER = 0x7fff_ffff_ffff_ffffn;
const MIN_INT64 = -0x8000_0000_0000_0000n;

const big = (v: string | null): bigint | null => {
  if (v === null || !/^-?\d+$/.test(v.trim())) return null;
  return BigInt(v.trim());
};

/** a FILETIME (e.g. msDS-UserPasswordExpiryTimeComputed) as epoch ms; null for 0, "never" or unreadable */
export function fileTimeMs(v: string | null): number | null {
  const n = big(v);
  if (n === null || n <= 0n || n >= NEVER) return null;
  return Number((n - EPOCH_OFFSET) / 10_000n);
}

/** epoch ms as a FILETIME, for pwdLastSet filters */
export const toFileTime = (ms: number): string => String(BigInt(Math.floor(ms)) * 10_000n + EPOCH_OFFSET);

/** a domain interval such as maxPwdAge (negative 100 ns) in ms; 0 when it means "never" or is unreadable */
export function intervalMs(v: string | null): number {
  const n = big(v);
  if (n === null || n === 0n || n === MIN_INT64) return 0;
  const abs = n < 0n ? -n : n;
  // anything beyond ~10,000 years is AD's way of saying "never"
  if (abs >= 10_000n * 365n * 86_400n * 10_000_000n) return 0;
  return Number(abs / 10_000n);
}
