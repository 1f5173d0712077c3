import { describe, expect, it } from 'vitest';
import type { Clock } from '../../ports.js';
import { CHALLENGE_TTL_MS, createAltchaCaptcha, disabledCaptcha } from './altcha.js';
import { solveChallenge } from './solve.js';

/** cheap difficulty so the unit tests stay fast; the default cost has its own test */
const CHEAP = { iterations: 10, counterMin: 5, counterMax: 50 };

function memorySpent() {
  const seen = new Set<string>();
  return {
    seen,
    async spend(sig: string, _expiresAt: number): Promise<boolean> {
      if (seen.has(sig)) return false;
      seen.add(sig);
      return true;
    },
  };
}

function fakeClock(start = Date.now()): Clock & { advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

function setup(opts: { clock?: Clock; hmacKey?: string } = {}) {
  const spent = memorySpent();
  const clock = opts.clock ?? fakeClock();
  const captcha = createAltchaCaptcha({ hmacKey: opts.hmacKey ?? 'test-secret', spent, clock, cost: CHEAP });
  return { captcha, spent, clock };
}

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');
const decode = (payload: string) => JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));

describe('altcha captcha', () => {
  it('issues a JSON-serialisable v2 challenge that expires in 10 minutes', async () => {
    const clock = fakeClock(1_800_000_000_000);
    const { captcha } = setup({ clock });
    expect(captcha.enabled).toBe(true);
    const challenge = await captcha.challenge();
    expect(JSON.parse(JSON.stringify(challenge))).toEqual(challenge);
    expect(challenge).toMatchObject({
      parameters: {
        algorithm: 'PBKDF2/SHA-256',
        cost: CHEAP.iterations,
        expiresAt: (1_800_000_000_000 + CHALLENGE_TTL_MS) / 1000,
        keyPrefix: expect.stringMatching(/^[0-9a-f]+$/),
        keySignature: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
      signature: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('verifies a solved challenge, once', async () => {
    const { captcha, spent } = setup();
    const payload = await solveChallenge(await captcha.challenge());
    expect(await captcha.verify(payload)).toBe(true);
    expect(spent.seen.size).toBe(1);
    // replay
    expect(await captcha.verify(payload)).toBe(false);
  });

  it('solves and verifies at the default difficulty', async () => {
    const spent = memorySpent();
    const captcha = createAltchaCaptcha({ hmacKey: 'k', spent, clock: { now: () => Date.now() } });
    const challenge = await captcha.challenge();
    expect((challenge as { parameters: { cost: number } }).parameters.cost).toBe(5_000);
    expect(await captcha.verify(await solveChallenge(challenge))).toBe(true);
  });

  it('rejects tampered payloads', async () => {
    const { captcha } = setup();
    const payload = await solveChallenge(await captcha.challenge());
    const good = decode(payload);

    const wrongKey = structuredClone(good);
    wrongKey.solution.derivedKey = (wrongKey.solution.derivedKey[0] === '0' ? '1' : '0') + wrongKey.solution.derivedKey.slice(1);
    expect(await captcha.verify(b64(wrongKey))).toBe(false);

    const moreTime = structuredClone(good);
    moreTime.challenge.parameters.expiresAt += 3600;
    expect(await captcha.verify(b64(moreTime))).toBe(false);

    const cheaper = structuredClone(good);
    cheaper.challenge.parameters.cost = 1;
    expect(await captcha.verify(b64(cheaper))).toBe(false);

    const badSig = structuredClone(good);
    badSig.challenge.signature = '0'.repeat(64);
    expect(await captcha.verify(b64(badSig))).toBe(false);

    const noKeySig = structuredClone(good);
    delete noKeySig.challenge.parameters.keySignature;
    expect(await captcha.verify(b64(noKeySig))).toBe(false);

    // flipping a character of the base64 itself
    const i = Math.floor(payload.length / 2);
    const flipped = payload.slice(0, i) + (payload[i] === 'A' ? 'B' : 'A') + payload.slice(i + 1);
    expect(await captcha.verify(flipped)).toBe(false);

    // the untouched payload still works (nothing above spent it)
    expect(await captcha.verify(payload)).toBe(true);
  });

  it('rejects a challenge signed with another key', async () => {
    const a = setup({ hmacKey: 'key-a' });
    const b = setup({ hmacKey: 'key-b' });
    const payload = await solveChallenge(await a.captcha.challenge());
    expect(await b.captcha.verify(payload)).toBe(false);
    expect(await a.captcha.verify(payload)).toBe(true);
  });

  it('rejects garbage without throwing', async () => {
    const { captcha, spent } = setup();
    const good = decode(await solveChallenge(await captcha.challenge()));
    const inputs: unknown[] = [
      '',
      ' ',
      'altcha',
      '!!!!',
      'a'.repeat(1024 * 1024),
      b64('x'.repeat(1024 * 1024)),
      'eyJ', // truncated base64
      b64('not json'),
      b64('null'),
      b64('[]'),
      b64('42'),
      b64('"string"'),
      b64({}),
      b64({ challenge: null, solution: null }),
      b64({ challenge: 'x', solution: 'y' }),
      b64({ challenge: { parameters: [], signature: 1 }, solution: {} }),
      b64({ ...good, solution: { counter: '12', derivedKey: good.solution.derivedKey } }),
      b64({ ...good, solution: { counter: -1, derivedKey: good.solution.derivedKey } }),
      b64({ ...good, solution: { counter: 1.5, derivedKey: good.solution.derivedKey } }),
      b64({ ...good, solution: { counter: good.solution.counter, derivedKey: 42 } }),
      b64({ ...good, solution: { counter: good.solution.counter, derivedKey: 'zz' } }),
      b64({ ...good, solution: { counter: good.solution.counter, derivedKey: 'f'.repeat(1_000_000) } }),
      b64({ ...good, challenge: { ...good.challenge, signature: ['a'] } }),
      b64({ ...good, challenge: { ...good.challenge, parameters: { ...good.challenge.parameters, expiresAt: '9999999999' } } }),
      b64({ ...good, challenge: { ...good.challenge, parameters: { ...good.challenge.parameters, algorithm: 'SHA-1' } } }),
      b64({ ...good, challenge: { ...good.challenge, parameters: { ...good.challenge.parameters, nonce: 'xyz' } } }),
      b64({ ...good, challenge: { ...good.challenge, parameters: { ...good.challenge.parameters, cost: 1e300 } } }),
      b64({ ...good, challenge: { ...good.challenge, parameters: { ...good.challenge.parameters, extra: 'x' } } }),
      // a v1 payload
      b64({ algorithm: 'SHA-256', challenge: 'ab', number: 1, salt: 's', signature: 'cd', took: 1 }),
      // a Sentinel server-signature payload
      b64({ algorithm: 'SHA-256', signature: 'ab', verificationData: 'verified=true', verified: true }),
      undefined,
      null,
      42,
      {},
    ];
    for (const input of inputs) {
      await expect(captcha.verify(input as string), String(input).slice(0, 60)).resolves.toBe(false);
    }
    expect(spent.seen.size).toBe(0);
  });

  it('rejects an expired challenge (fake clock)', async () => {
    const clock = fakeClock();
    const { captcha } = setup({ clock });
    const payload = await solveChallenge(await captcha.challenge());
    clock.advance(CHALLENGE_TTL_MS + 1);
    expect(await captcha.verify(payload)).toBe(false);
  });

  it('rejects an expired challenge (expiry already past on the wall clock)', async () => {
    // issued 11 minutes ago by the injected clock: altcha-lib's own wall-clock check fails too
    const clock = fakeClock(Date.now() - 11 * 60 * 1000);
    const issuer = setup({ clock });
    const payload = await solveChallenge(await issuer.captcha.challenge());
    const verifier = createAltchaCaptcha({ hmacKey: 'test-secret', spent: memorySpent(), clock: { now: () => Date.now() }, cost: CHEAP });
    expect(await verifier.verify(payload)).toBe(false);
  });

  it('accepts a payload just before expiry', async () => {
    const clock = fakeClock();
    const { captcha } = setup({ clock });
    const payload = await solveChallenge(await captcha.challenge());
    clock.advance(CHALLENGE_TTL_MS - 5_000);
    expect(await captcha.verify(payload)).toBe(true);
  });

  it('fails closed when the spent store throws', async () => {
    const captcha = createAltchaCaptcha({
      hmacKey: 'k',
      spent: { spend: async () => Promise.reject(new Error('db down')) },
      clock: { now: () => Date.now() },
      cost: CHEAP,
    });
    const payload = await solveChallenge(await captcha.challenge());
    expect(await captcha.verify(payload)).toBe(false);
  });
});

describe('disabled captcha', () => {
  it('is disabled, has an empty challenge and accepts anything', async () => {
    expect(disabledCaptcha.enabled).toBe(false);
    expect(await disabledCaptcha.challenge()).toEqual({});
    expect(await disabledCaptcha.verify('')).toBe(true);
    expect(await disabledCaptcha.verify('garbage')).toBe(true);
  });
});
