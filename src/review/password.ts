import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Reviewer passwords: scrypt (node:crypto) with a 16-byte salt per account. The stored form is
 * `scrypt$N$r$p$<salt base64url>$<hash base64url>`, so the cost can be raised for new hashes
 * without breaking old ones. N = 2^15, r = 8 (OWASP's minimum for scrypt is N = 2^17 with
 * r = 8, p = 1, or an equivalent cost; 2^15 keeps a login near 50 ms on a small CPU and is
 * paired with the login rate limits).
 */

const PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
/** Longest password accepted (scrypt hashes anything, but a form field should be bounded). */
export const MAX_PASSWORD_LENGTH = 256;
/** Shortest password `reviewer create` accepts. */
export const MIN_PASSWORD_LENGTH = 12;

function derive(
  password: string,
  salt: Buffer,
  p: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128·N·r bytes; the default 32 MiB refuses N = 2^15, r = 8.
    scrypt(
      password.normalize("NFC"),
      salt,
      KEY_LENGTH,
      { ...p, maxmem: 256 * p.N * p.r },
      (e, k) => (e ? reject(e) : resolve(k)),
    );
  });
}

/** Hashes a password for storage. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

const STORED =
  /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{16,128})$/;

/**
 * Whether `password` matches a stored hash, compared in constant time. A malformed or
 * out-of-range stored value is false, never an exception.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = STORED.exec(stored);
  if (!m) return false;
  const p = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  // A power of two, and bounded so a tampered row cannot make login allocate gigabytes.
  if (p.N < 2 || p.N > 2 ** 20 || (p.N & (p.N - 1)) !== 0 || p.r < 1 || p.r > 32 || p.p < 1)
    return false;
  const expected = Buffer.from(m[5]!, "base64url");
  const got = await derive(password, Buffer.from(m[4]!, "base64url"), p);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A hash of a random password, checked against when the username is unknown, so that an
 * unknown name takes as long as a wrong password. */
export const dummyHash = (): Promise<string> => hashPassword(randomBytes(16).toString("hex"));

/** A random password to print once (24 base64url characters, 144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString("base64url");
}
