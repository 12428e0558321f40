/**
 * Failed-login limits of the workspace, per username and per client address, kept in memory
 * by each gateway process. Caveat (docs/review.md): with N replicas an attacker gets up to N
 * times the budget, and a restart forgets the counts; the scrypt cost and the per-username
 * limit still bound guessing to a few hundred tries per hour per account and replica.
 */
export interface LoginLimits {
  /** Failures per username within the window before that username is locked. */
  maxFailures: number;
  /** Failures per client address within the window before that address is locked. */
  maxFailuresPerIp: number;
  /** The window, in seconds; a lock lasts until the oldest counted failure leaves it. */
  windowS: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  maxFailures: 5,
  maxFailuresPerIp: 20,
  windowS: 900,
};

/** Most keys tracked at once; the oldest are dropped beyond that, so memory stays bounded. */
const MAX_TRACKED = 10_000;

export interface LoginLimiter {
  /** Seconds until a new attempt is allowed for this username or address; 0 when allowed. */
  retryAfter(username: string, ip: string, now?: number): number;
  fail(username: string, ip: string, now?: number): void;
  /** A success clears the username's failures (not the address's). */
  succeed(username: string): void;
}

export function createLoginLimiter(limits: LoginLimits = DEFAULT_LOGIN_LIMITS): LoginLimiter {
  const failures = new Map<string, number[]>();
  const windowMs = limits.windowS * 1000;
  const recent = (key: string, now: number) => {
    const list = (failures.get(key) ?? []).filter((t) => t > now - windowMs);
    if (list.length === 0) failures.delete(key);
    else failures.set(key, list);
    return list;
  };
  const wait = (list: number[], max: number, now: number) =>
    list.length >= max ? Math.ceil((list[list.length - max]! + windowMs - now) / 1000) : 0;
  return {
    retryAfter(username, ip, now = Date.now()) {
      return Math.max(
        wait(recent(`u:${username}`, now), limits.maxFailures, now),
        wait(recent(`ip:${ip}`, now), limits.maxFailuresPerIp, now),
      );
    },
    fail(username, ip, now = Date.now()) {
      for (const key of [`u:${username}`, `ip:${ip}`]) {
        const list = recent(key, now);
        list.push(now);
        failures.delete(key);
        failures.set(key, list.slice(-Math.max(limits.maxFailures, limits.maxFailuresPerIp)));
      }
      while (failures.size > MAX_TRACKED) failures.delete(failures.keys().next().value!);
    },
    succeed(username) {
      failures.delete(`u:${username}`);
    },
  };
}
