/**
 * Test support: the Redis the limiter tests run against. TEST_REDIS_URL names it (CI sets it;
 * then a Redis that does not answer fails the tests instead of leaving them out); without it, a
 * Redis answering on 127.0.0.1:6379 is used, and its absence is said on stderr, never silently.
 */
import { Redis } from "ioredis";

const LOCAL = "redis://127.0.0.1:6379";

/** The Redis URL for this run, or null (with a note on stderr) when there is none. */
export async function testRedisUrl(): Promise<string | null> {
  const configured = process.env.TEST_REDIS_URL;
  const url = configured || LOCAL;
  const answers = await ping(url);
  if (answers) return url;
  if (configured) {
    throw new Error(`TEST_REDIS_URL=${configured} is set but Redis does not answer there`);
  }
  process.stderr.write(
    `note: no Redis answers on ${LOCAL} and TEST_REDIS_URL is not set: the Redis limiter tests do not run\n`,
  );
  return null;
}

async function ping(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}
