import type { Store } from '../ports/store.js';
import type { MethodId } from '../core/methods.js';
import type { ResetMethod } from '../methods/method.js';
import type { Clock, Directory, Hasher, Keyring, Random } from '../ports.js';
import type { PasswordPolicy } from './password-policy.js';
import type { PhoneCost } from './phone-cost.js';
import type { PolicyService } from './policy-service.js';
import type { StartLimit } from './start-limit.js';
import type { Throttle } from './throttle.js';

/** Who is asking: carried from the edge into every service call, for throttles and audit. */
export interface RequestContext {
  ip: string;
  userAgent: string;
  locale: string;
}

/** What the services that run a person's journey share: storage, directory, methods, policy, secrets. */
export interface ServiceDeps {
  store: Store;
  directory: Directory;
  methods: ReadonlyMap<MethodId, ResetMethod>;
  policy: PolicyService;
  throttle: Throttle;
  passwords: PasswordPolicy;
  keyring: Keyring;
  /** Argon2id, for the answers to security questions */
  hasher: Hasher;
  random: Random;
  clock: Clock;
  /** wakes the delivery queue after a commit */
  nudge(): void;
  /** what SMS and voice may cost: countries, per number, per deployment */
  phoneCost: PhoneCost;
  /** flow starts per source address */
  startLimit: StartLimit;
}
