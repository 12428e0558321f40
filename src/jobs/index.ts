/**
 * Delivery of images other than in the response (docs/async.md): asynchronous generation jobs
 * on pg-boss (`hallmark worker`), review holds, webhooks and retention of the stored outputs.
 */
export { createJobQueue, GENERATION_QUEUE, type JobQueue, WEBHOOK_QUEUE } from "./boss.js";
export { createDelivery, type Delivery, type DeliveryOptions } from "./delivery.js";
export { purgeExpired } from "./maintenance.js";
export { finishJob, runGenerationJob } from "./worker.js";
