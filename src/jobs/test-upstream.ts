/**
 * Test support: an AUTOMATIC1111-shaped txt2img peer on loopback whose first answer waits
 * `firstDelayMs` (a worker that hangs on its job), and every later one answers at once.
 */
import { createServer } from "node:http";
import sharp from "sharp";
import { listenOnLoopback, readText } from "../generate/loopback.js";

export interface SlowFirstUpstream {
  url: string;
  /** Requests received, and answers sent. */
  received: number;
  answered: number;
  close(): Promise<void>;
}

export async function startSlowFirstUpstream(firstDelayMs: number): Promise<SlowFirstUpstream> {
  const state = { received: 0, answered: 0 };
  const server = createServer(async (req, res) => {
    if (req.method === "GET") {
      res.writeHead(200, { "content-type": "application/json" }).end('{"sd_model_checkpoint":"x"}');
      return;
    }
    const body = JSON.parse(await readText(req)) as Record<string, number>;
    const nth = ++state.received;
    if (nth === 1) await new Promise((r) => setTimeout(r, firstDelayMs));
    const width = Number(body.width ?? 256);
    const height = Number(body.height ?? 256);
    // A gradient, so that the watermark has texture to go into.
    const pixels = Buffer.alloc(width * height * 3);
    for (let i = 0; i < width * height; i++) {
      pixels[i * 3] = (i % width) & 255;
      pixels[i * 3 + 1] = Math.floor(i / width) & 255;
      pixels[i * 3 + 2] = (i * 7) & 255;
    }
    const png = await sharp(pixels, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer();
    const seed = Number(body.seed ?? 1);
    const info = { seed, all_seeds: [seed], sd_model_name: "slow-first", sd_model_hash: "0" };
    state.answered++;
    res
      .writeHead(200, { "content-type": "application/json" })
      .end(JSON.stringify({ images: [png.toString("base64")], info: JSON.stringify(info) }));
  });
  const loopback = await listenOnLoopback(server);
  return {
    url: loopback.url,
    get received() {
      return state.received;
    },
    get answered() {
      return state.answered;
    },
    close: loopback.close,
  };
}
