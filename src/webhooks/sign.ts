import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readOrCreateSecretFile } from "../config/secret-file.js";
import { HallmarkError } from "../errors/index.js";

/** Standard Webhooks secret prefix (https://www.standardwebhooks.com/, spec §"Signature scheme"). */
export const SECRET_PREFIX = "whsec_";
export const WEBHOOK_SECRET_FILE = "webhook.secret";

/** The headers of a signed delivery, named as Standard Webhooks names them. */
export interface WebhookHeaders {
  "webhook-id": string;
  "webhook-timestamp": string;
  "webhook-signature": string;
}

/** Decodes `whsec_<base64>` (or bare base64) into the HMAC key; at least 24 bytes. */
export function parseWebhookSecret(text: string): Buffer {
  const value = text.trim();
  const body = value.startsWith(SECRET_PREFIX) ? value.slice(SECRET_PREFIX.length) : value;
  const key = Buffer.from(body, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || key.length < 24 || key.length > 64) {
    throw new HallmarkError(
      "config_error",
      "webhook secret must be whsec_ followed by base64 of 24 to 64 bytes",
    );
  }
  return key;
}

/**
 * Signs a delivery: HMAC-SHA256 over `${id}.${timestamp}.${body}` with the secret, sent as
 * `webhook-signature: v1,<base64>` beside `webhook-id` and `webhook-timestamp` (unix seconds).
 *
 * @example const headers = signWebhook(key, "msg_1", new Date(), JSON.stringify(event))
 */
export function signWebhook(key: Buffer, id: string, time: Date, body: string): WebhookHeaders {
  const timestamp = String(Math.floor(time.getTime() / 1000));
  const mac = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${mac}` };
}

/**
 * What a receiver does (and the tests check): recompute the signature and compare in constant
 * time; refuse timestamps further than `toleranceSeconds` from now (replays).
 */
export function verifyWebhook(
  key: Buffer,
  headers: Record<string, string | undefined>,
  body: string,
  options: { now?: Date; toleranceSeconds?: number } = {},
): boolean {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !timestamp || !signatures || !/^\d+$/.test(timestamp)) return false;
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  if (Math.abs(now - Number(timestamp)) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(
    createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64"),
  );
  return signatures.split(" ").some((s) => {
    const [version, mac] = s.split(",", 2);
    if (version !== "v1" || !mac) return false;
    const given = Buffer.from(mac);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

/**
 * The signing secret from `secretFile`, or `<dataDir>/webhook.secret`, created (mode 0600,
 * exclusive) with 32 random bytes when absent. Receivers are given the file's content.
 */
export async function loadWebhookSecret(options: {
  dataDir: string;
  secretFile?: string;
}): Promise<Buffer> {
  const content = await readOrCreateSecretFile({
    dataDir: options.dataDir,
    name: WEBHOOK_SECRET_FILE,
    configured: options.secretFile,
    what: "webhook secret",
    fresh: () => `${SECRET_PREFIX}${randomBytes(32).toString("base64")}\n`,
  });
  return parseWebhookSecret(content.toString("utf8"));
}
