// Worker entry when Hallmark runs from its TypeScript sources (tsx, vitest): a worker thread
// does not inherit the parent's loader, so it registers tsx before importing the thread's code.
import { register } from "tsx/esm/api";

register();
await import("./sampling-thread.ts");
