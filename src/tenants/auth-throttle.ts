/**
 * Failed API-key authentications per client address, per replica. A wrong key always reaches
 * the database (only successes are remembered, key-cache.ts), so without a bound one client
 * could make every replica look keys up as fast as it can send them. Each address has a bucket
 * of `failures` tries that refills over `windowMs`; an address whose bucket is empty is refused
 * before any lookup until a try has refilled (every request from it, since a refusal cannot
 * look the key up to tell a good one apart). Keys are random 256-bit strings, so this is about
 * the database's load, not about guessing. Clients behind one address share its bucket: behind
 * a proxy, HALLMARK_TRUST_PROXY makes the address the client's own.
 */
import { HallmarkError, isHallmarkError } from "../errors/index.js";
import type { Principal } from "./keys.js";

export interface AuthThrottleOptions {
  /** Failed tries an address may make at once, refilled over `windowMs`. */
  failures: number;
  /** How long an empty bucket takes to refill completely (milliseconds). */
  windowMs: number;
  /** Most addresses remembered; the one untouched longest is forgotten first. */
  maxAddresses?: number;
  now?: () => number;
}

export interface AuthThrottle {
  /** Milliseconds until `address` may try another key; 0 when it may now. */
  retryAfterMs(address: string): number;
  /** Counts one failed authentication from `address`. */
  failed(address: string): void;
}

interface Bucket {
  /** Tries left at `at`. */
  tries: number;
  at: number;
}

export function createAuthThrottle(options: AuthThrottleOptions): AuthThrottle {
  const { failures, windowMs } = options;
  const maxAddresses = options.maxAddresses ?? 10_000;
  const now = options.now ?? (() => Date.now());
  const perMs = failures / windowMs;
  const buckets = new Map<string, Bucket>();

  /** The bucket as it stands now (refilled for the time since it was last touched). */
  const current = (address: string, t: number): Bucket => {
    const b = buckets.get(address);
    if (!b) return { tries: failures, at: t };
    return { tries: Math.min(failures, b.tries + (t - b.at) * perMs), at: t };
  };

  return {
    retryAfterMs(address) {
      const t = now();
      const b = current(address, t);
      return b.tries >= 1 ? 0 : Math.ceil((1 - b.tries) / perMs);
    },
    failed(address) {
      const t = now();
      const b = current(address, t);
      b.tries = Math.max(0, b.tries - 1);
      // Re-inserted, so the map's order is the order addresses were last touched.
      buckets.delete(address);
      buckets.set(address, b);
      if (buckets.size > maxAddresses) buckets.delete(buckets.keys().next().value!);
    },
  };
}

/** Longest key looked up; a longer one cannot be a key and is refused without a lookup. */
const MAX_KEY_LENGTH = 256;

/**
 * One presented key's lookup, as the API and the review workspace make it: a key over 256
 * characters is refused without a lookup and not counted; with `throttle`, an address whose
 * allowance is spent gets 429 `rate_limit_exceeded` (with the seconds to wait) before any lookup,
 * and a key the lookup refuses as `invalid_api_key` spends one try.
 */
export async function lookUpKey(
  key: string,
  lookup: (key: string) => Promise<Principal>,
  throttle?: { throttle: AuthThrottle; address: string },
): Promise<Principal> {
  if (key.length > MAX_KEY_LENGTH) {
    throw new HallmarkError("invalid_api_key", "Incorrect or revoked API key provided.");
  }
  const wait = throttle ? throttle.throttle.retryAfterMs(throttle.address) : 0;
  if (wait > 0) {
    throw new HallmarkError(
      "rate_limit_exceeded",
      "Too many requests with a wrong API key from this address; try again later.",
      { details: { retryAfterSeconds: Math.ceil(wait / 1000) } },
    );
  }
  try {
    return await lookup(key);
  } catch (error) {
    if (throttle && isHallmarkError(error) && error.code === "invalid_api_key") {
      throttle.throttle.failed(throttle.address);
    }
    throw error;
  }
}
