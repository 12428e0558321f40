/**
 * Test fixture for the several-processes test (multi-process.test.ts): one gateway-like
 * process appending to a shared PostgreSQL database. Usage:
 *   node --import tsx append-worker.ts <postgres url> <count> <label>
 * Prints "ready", waits for a line on stdin, appends `count` entries from 4 concurrent
 * transactions, prints "done" and exits.
 */
import { once } from "node:events";
import { openDatabase } from "../../db/index.js";
import { appendEntry } from "./append.js";

const [url, countText, label] = process.argv.slice(2);
const count = Number(countText);
const database = await openDatabase({ url: url!, maxConnections: 4 });
process.stdout.write("ready\n");
await once(process.stdin, "data");
let next = 0;
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (next < count) {
      const i = next++;
      await database.db.transaction(async (tx) => {
        await appendEntry(tx, { kind: "generation", payload: { label, i } });
      });
    }
  }),
);
await database.close();
process.stdout.write("done\n");
process.stdin.destroy();
