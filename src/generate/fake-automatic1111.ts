import { createServer, type Server } from "node:http";
import sharp from "sharp";
import { listenOnLoopback, readText } from "./loopback.js";

export interface FakeAutomatic1111 {
  url: string;
  /** Every txt2img and img2img request body received, in order. */
  requests: Array<Record<string, unknown>>;
  /** The path of each request in `requests` ("/sdapi/v1/txt2img" or "/sdapi/v1/img2img"). */
  paths: string[];
  close(): Promise<void>;
}

export interface FakeAutomatic1111Options {
  /** Delay before answering each request, in ms (simulates the GPU). */
  latencyMs?: number;
  /** Answer every generation with this HTTP status instead (tests of failure handling). */
  failWith?: number;
  /** Answer only the first `failFirst` generations with `failWith`, then succeed (retry tests). */
  failFirst?: number;
  /** Answer with a body that is valid JSON but not the API's shape. */
  malformed?: boolean;
}

/**
 * A real HTTP peer on loopback that follows AUTOMATIC1111's `POST /sdapi/v1/txt2img` and
 * `/sdapi/v1/img2img` request and response shapes (images as base64 PNG, `info` as a JSON string). Used by tests and the bench;
 * it draws flat test cards, not pictures.
 */
export async function startFakeAutomatic1111(
  options: FakeAutomatic1111Options = {},
): Promise<FakeAutomatic1111> {
  const requests: Array<Record<string, unknown>> = [];
  const paths: string[] = [];
  const cache = new Map<string, string>();

  async function card(width: number, height: number, seed: number): Promise<string> {
    const key = `${width}x${height}:${seed % 8}`;
    let b64 = cache.get(key);
    if (!b64) {
      const png = await sharp({
        create: {
          width,
          height,
          channels: 3,
          background: { r: (seed * 37) % 256, g: 120, b: 200 },
        },
      })
        .png()
        .toBuffer();
      b64 = png.toString("base64");
      cache.set(key, b64);
    }
    return b64;
  }

  const server: Server = createServer(async (req, res) => {
    try {
      if (req.method === "GET" && req.url === "/sdapi/v1/options") {
        res
          .writeHead(200, { "content-type": "application/json" })
          .end('{"sd_model_checkpoint":"fake"}');
        return;
      }
      const path = req.url ?? "";
      if (req.method !== "POST" || (path !== "/sdapi/v1/txt2img" && path !== "/sdapi/v1/img2img")) {
        res.writeHead(404).end('{"detail":"Not Found"}');
        return;
      }
      const body = JSON.parse(await readText(req)) as Record<string, unknown>;
      requests.push(body);
      paths.push(path);
      if (path === "/sdapi/v1/img2img") {
        // A1111 decodes `init_images` (and `mask`) as base64 images; a bad one fails the request.
        const images = Array.isArray(body.init_images) ? (body.init_images as unknown[]) : [];
        const decodable = async (b64: unknown) =>
          typeof b64 === "string" &&
          (await sharp(Buffer.from(b64, "base64"))
            .metadata()
            .then(
              () => true,
              () => false,
            ));
        const ok =
          images.length > 0 &&
          (await decodable(images[0])) &&
          (body.mask === undefined || (await decodable(body.mask)));
        if (!ok) {
          res
            .writeHead(422, { "content-type": "application/json" })
            .end('{"detail":[{"loc":["body","init_images"],"msg":"invalid image"}]}');
          return;
        }
      }
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      if (options.failWith && requests.length <= (options.failFirst ?? Number.POSITIVE_INFINITY)) {
        res
          .writeHead(options.failWith, { "content-type": "application/json" })
          .end('{"error":"boom"}');
        return;
      }
      if (options.malformed) {
        res.writeHead(200, { "content-type": "application/json" }).end('{"pictures":[]}');
        return;
      }
      const width = Number(body.width ?? 512);
      const height = Number(body.height ?? 512);
      const n = Number(body.batch_size ?? 1);
      const seed = Number(body.seed ?? -1);
      const seeds = Array.from({ length: n }, (_, i) => seed + i);
      const images = await Promise.all(seeds.map((s) => card(width, height, s)));
      const info = {
        seed,
        all_seeds: seeds,
        sd_model_name: "fake-sd15",
        sd_model_hash: "0000fake",
      };
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ images, parameters: body, info: JSON.stringify(info) }));
    } catch {
      res.writeHead(500).end();
    }
  });
  const loopback = await listenOnLoopback(server);
  return {
    url: loopback.url,
    requests,
    paths,
    close: loopback.close,
  };
}
