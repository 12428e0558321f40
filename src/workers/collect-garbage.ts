/**
 * A full garbage collection, where node was started with `--expose-gc` (bin/hallmark starts it
 * so); false where it was not (tests, `node bin/hallmark.js`). Called once when loading is done:
 * an isolate that then waits for work collects nothing until it allocates again, so the buffers
 * that loading left (model bytes, rewritten graphs, the embedded database's start-up) stayed
 * resident until the first requests; measured on the gateway, about 1,320 → 900 MB right after
 * start (docs/operations.md, Memory).
 */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return false;
  gc();
  return true;
}
