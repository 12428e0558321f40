/**
 * Webhooks (docs/async.md): Standard Webhooks signatures (HMAC-SHA256, `webhook-id`,
 * `webhook-timestamp`, `webhook-signature`), SSRF rules for where they may go (public addresses
 * only unless configured, checked again at connect time), and the sender.
 */
export {
  allowedAddresses,
  checkWebhookUrl,
  isPublicAddress,
  MAX_WEBHOOK_URL_LENGTH,
  parseWebhookUrl,
  type WebhookUrlPolicy,
} from "./address-policy.js";
export { createWebhookSender, type WebhookEvent, type WebhookSender } from "./deliver.js";
export {
  loadWebhookSecret,
  parseWebhookSecret,
  SECRET_PREFIX,
  signWebhook,
  verifyWebhook,
  WEBHOOK_SECRET_FILE,
  type WebhookHeaders,
} from "./sign.js";
