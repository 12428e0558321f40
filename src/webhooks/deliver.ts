import { randomUUID } from "node:crypto";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import { HallmarkError } from "../errors/index.js";
import { allowedAddresses, parseWebhookUrl, type WebhookUrlPolicy } from "./address-policy.js";
import { signWebhook } from "./sign.js";

/** A Standard Webhooks event: `type`, `timestamp` (RFC 3339) and `data`. */
export interface WebhookEvent {
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

export interface WebhookSender {
  /**
   * POSTs the signed event; resolves on a 2xx answer, throws otherwise (the caller retries).
   * `messageId` stays the same across retries of one event (the receiver's dedup key).
   */
  send(url: string, event: WebhookEvent, messageId?: string): Promise<{ status: number }>;
}

/** Longest response body read from a receiver (it is discarded anyway). */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Sends webhooks with node:http(s), whose `lookup` hook re-checks every resolved address against
 * the policy at connect time (no DNS rebinding), with a time limit and no redirects followed.
 *
 * @example await createWebhookSender({ key, policy, timeoutMs: 10_000 }).send(url, event)
 */
export function createWebhookSender(options: {
  key: Buffer;
  policy: WebhookUrlPolicy;
  timeoutMs: number;
  userAgent?: string;
}): WebhookSender {
  const lookup: LookupFunction = (hostname, opts, callback) => {
    allowedAddresses(hostname, options.policy).then(
      (addresses) => {
        if ((opts as { all?: boolean }).all) {
          (callback as (e: null, a: typeof addresses) => void)(null, addresses);
        } else {
          callback(null, addresses[0]!.address, addresses[0]!.family);
        }
      },
      (error: Error) => callback(error as NodeJS.ErrnoException, "", 0),
    );
  };
  return {
    async send(target, event, messageId = `msg_${randomUUID()}`) {
      const url = parseWebhookUrl(target, options.policy);
      // An IP literal never reaches the lookup hook: check it (and any name) here as well.
      await allowedAddresses(url.hostname, options.policy);
      const body = JSON.stringify(event);
      const headers = {
        ...signWebhook(options.key, messageId, new Date(), body),
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(body)),
        "user-agent": options.userAgent ?? "hallmark-webhooks",
      };
      const client = url.protocol === "https:" ? https : http;
      return new Promise((resolve, reject) => {
        const req = client.request(
          url,
          { method: "POST", headers, lookup, timeout: options.timeoutMs },
          (res) => {
            let seen = 0;
            res.on("data", (chunk: Buffer) => {
              seen += chunk.length;
              if (seen > MAX_RESPONSE_BYTES) res.destroy();
            });
            res.on("close", () => {
              const status = res.statusCode ?? 0;
              if (status >= 200 && status < 300) resolve({ status });
              else
                reject(new HallmarkError("backend_error", `webhook receiver answered ${status}`));
            });
          },
        );
        req.on("timeout", () => req.destroy(new Error("webhook delivery timed out")));
        req.on("error", (error) =>
          reject(
            error instanceof HallmarkError
              ? error
              : new HallmarkError("backend_error", `webhook delivery failed: ${error.message}`, {
                  cause: error,
                }),
          ),
        );
        req.end(body);
      });
    },
  };
}
