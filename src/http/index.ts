export { type AppDeps, createApp } from "./app.js";
export type { AppEnv } from "./context.js";
export { errorBody, statusFor } from "./errors.js";
export { createRequestGate, type DrainResult, type RequestGate } from "./middleware/timeout.js";
export type { Operations } from "./operations.js";
export type { ReadinessCheck } from "./routes/health.js";
