/**
 * A fake AUTOMATIC1111 whose behaviour a fault run switches while load runs: `ok` answers like
 * the real API (a PNG test card after `latencyMs`), `fail` answers 500, `hang` never answers.
 * It runs in the load script's process, so the script can flip it between phases.
 */
import { createServer } from "node:http";
import sharp from "sharp";

export type UpstreamMode = "ok" | "fail" | "hang";

export async function startSwitchableUpstream(latencyMs: number) {
  let mode: UpstreamMode = "ok";
  const card = (
    await sharp({ create: { width: 512, height: 512, channels: 3, background: "#3a78c8" } })
      .png()
      .toBuffer()
  ).toString("base64");
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (req.method === "GET") {
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
        return;
      }
      if (mode === "hang") return; // the gateway's timeout must end it
      if (mode === "fail") {
        res.writeHead(500, { "content-type": "application/json" }).end('{"error":"boom"}');
        return;
      }
      setTimeout(() => {
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ images: [card], info: JSON.stringify({ seed: 1 }) }));
      }, latencyMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    setMode(next: UpstreamMode) {
      mode = next;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
