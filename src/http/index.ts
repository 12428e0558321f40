export { type AppDeps, createApp } from "./app.js";
export type { AppEnv } from "./context.js";
export { errorBody, statusFor } from "./errors.js";
export type { ReadinessCheck } from "./routes/health.js";
