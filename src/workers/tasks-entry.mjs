// Worker entry when Hallmark runs from its TypeScript sources (tsx, vitest): a worker thread
// does not inherit the parent's loader, so it registers tsx before importing the tasks.
import { register } from "tsx/esm/api";

register();
const tasks = await import("./tasks.ts");
export default tasks.default;
