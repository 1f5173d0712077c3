import type { Repos, Store, StoreTx } from '../ports/store.js';
import { SsprError, isSsprError } from '../core/errors.js';
import type { Directory } from '../ports.js';

/** One change to the directory: inside our transaction when the directory lives in our database, else over its own connection. */
export interface DirectoryWrite {
  inStore?: ((tx: StoreTx) => Promise<void>) | undefined;
  remote: () => Promise<void>;
}

export interface AroundWrite<T> {
  /** claims the step (a flow's `completing`); before a remote write it commits on its own, and audits the attempt */
  claim?: (r: Repos, remote: boolean) => Promise<void>;
  /** commits when the directory refused: gives the step back, audits why */
  refused?: (r: Repos, error: SsprError) => Promise<void>;
  /** commits after the write: everything that goes with it (audit, notices, sessions); `remote` as for `claim` */
  then: (r: Repos, remote: boolean) => Promise<T>;
}

/** A directory's own failure reaches the person as a clear error, never a 500. */
export const directoryError = (e: unknown): SsprError => (isSsprError(e) ? e : new SsprError('SSPR_0029'));

/**
 * Commits a directory change with what goes with it. A directory in our database joins one
 * transaction: the change and its audit entry commit together or not at all. A directory
 * elsewhere is written outside any transaction, so no database lock is held across the
 * network: `claim` commits first, then the directory is written and confirmed, then `then`
 * commits; a refusal commits `refused` instead and is thrown.
 */
export async function commitAroundDirectory<T>(store: Store, write: DirectoryWrite, steps: AroundWrite<T>): Promise<T> {
  if (write.inStore) {
    const inStore = write.inStore;
    return store.transaction(async (r) => {
      await steps.claim?.(r, false);
      try {
        await inStore(r.tx);
      } catch (e) {
        throw directoryError(e);
      }
      return steps.then(r, false);
    });
  }
  if (steps.claim) await store.transaction((r) => steps.claim!(r, true));
  try {
    await write.remote();
  } catch (e) {
    const error = directoryError(e);
    if (steps.refused) await store.transaction((r) => steps.refused!(r, error));
    throw error;
  }
  return store.transaction((r) => steps.then(r, true));
}

/** the directory write of an unlock: the lock and the failure count go, the password stays */
export function unlockWrite(directory: Directory, userId: string): DirectoryWrite {
  const inStore = directory.inStore;
  return { inStore: inStore && ((tx) => inStore.unlock(tx, userId)), remote: () => directory.unlock(userId) };
}
