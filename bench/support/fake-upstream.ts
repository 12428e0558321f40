// A fake AUTOMATIC1111 in its own process for the gateway benchmark; prints its URL on stdout.
import { startFakeAutomatic1111 } from "../../src/generate/index.js";

const fake = await startFakeAutomatic1111({ latencyMs: Number(process.argv[2] ?? 50) });
console.log(fake.url);
process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
