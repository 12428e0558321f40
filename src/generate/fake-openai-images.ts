import { createServer, type Server } from "node:http";
import sharp from "sharp";
import { listenOnLoopback, readBody } from "./loopback.js";

export interface FakeOpenAIImages {
  url: string;
  /** Every generations/edits request received: its path, Authorization header and fields. */
  requests: Array<{ path: string; authorization?: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface FakeOpenAIImagesOptions {
  /** Delay before answering each request, in ms (simulates the GPU). */
  latencyMs?: number;
  /** Answer generations with this HTTP status and an OpenAI error body instead. */
  failWith?: number;
  /** Only the first `failFirst` requests fail with `failWith`. */
  failFirst?: number;
  /** The `error.code` in the failure body (e.g. "content_policy_violation"). */
  errorCode?: string;
  /** Answer with valid JSON that is not the API's shape. */
  malformed?: boolean;
  /** Refuse requests without `Authorization: Bearer <apiKey>` with 401. */
  apiKey?: string;
}

/**
 * A real HTTP peer on loopback that follows OpenAI's Images API shapes:
 * `POST /v1/images/generations` (JSON), `/v1/images/edits` and `/v1/images/variations`
 * (multipart), answering
 * `{ created, data: [{ b64_json, revised_prompt }] }`, errors as `{ error: { message, type, code } }`,
 * and `GET /v1/models`. It draws flat test cards of the requested `size`.
 */
export async function startFakeOpenAIImages(
  options: FakeOpenAIImagesOptions = {},
): Promise<FakeOpenAIImages> {
  const requests: FakeOpenAIImages["requests"] = [];
  const cache = new Map<string, string>();

  async function card(width: number, height: number, i: number): Promise<string> {
    const key = `${width}x${height}:${i}`;
    let b64 = cache.get(key);
    if (!b64) {
      b64 = (
        await sharp({
          create: { width, height, channels: 3, background: { r: 30 * i, g: 200, b: 90 } },
        })
          .png()
          .toBuffer()
      ).toString("base64");
      cache.set(key, b64);
    }
    return b64;
  }

  const server: Server = createServer(async (req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    try {
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        json(401, {
          error: {
            message: "Incorrect API key",
            type: "invalid_request_error",
            code: "invalid_api_key",
          },
        });
        return;
      }
      if (req.method === "GET" && req.url === "/v1/models") {
        json(200, { object: "list", data: [{ id: "fake-image-1", object: "model" }] });
        return;
      }
      const path = req.url ?? "";
      if (
        req.method !== "POST" ||
        (path !== "/v1/images/generations" &&
          path !== "/v1/images/edits" &&
          path !== "/v1/images/variations")
      ) {
        json(404, { error: { message: "Not found", type: "invalid_request_error" } });
        return;
      }
      const raw = await readBody(req);
      let body: Record<string, unknown>;
      if (path === "/v1/images/edits" || path === "/v1/images/variations") {
        const form = await new Request("http://fake/", {
          method: "POST",
          headers: { "content-type": req.headers["content-type"] ?? "" },
          body: new Uint8Array(raw),
        }).formData();
        body = {};
        for (const k of ["image", "mask", "model", "prompt", "n", "size", "response_format"]) {
          const v = form.get(k);
          if (v === null) continue;
          body[k] = typeof v === "string" ? v : Buffer.from(await v.arrayBuffer());
        }
        // Several input images come as `image[]` (gpt-image-1 takes up to 16).
        const several = form.getAll("image[]");
        if (several.length > 0) {
          body["image[]"] = await Promise.all(
            several.map(async (v) =>
              typeof v === "string" ? v : Buffer.from(await v.arrayBuffer()),
            ),
          );
        }
        // OpenAI's rules for edits: an image is required; a mask is a PNG with alpha of the
        // image's size.
        const first = (body.image ?? (body["image[]"] as Buffer[] | undefined)?.[0]) as
          | Buffer
          | undefined;
        const invalid = async (): Promise<string | null> => {
          if (!Buffer.isBuffer(first)) return "image is required";
          // Variations (dall-e-2) take one image and nothing to say what to change.
          if (path === "/v1/images/variations") {
            if (body.prompt !== undefined || body.mask !== undefined || body["image[]"]) {
              return "variations take one image, no prompt and no mask";
            }
            return null;
          }
          if (!Buffer.isBuffer(body.mask)) return null;
          const [im, mk] = await Promise.all([
            sharp(first).metadata(),
            sharp(body.mask).metadata(),
          ]);
          if (mk.format !== "png" || !mk.hasAlpha) return "mask must be a PNG with alpha";
          if (im.width !== mk.width || im.height !== mk.height) {
            return "mask and image must have the same dimensions";
          }
          return null;
        };
        const problem = await invalid();
        if (problem) {
          requests.push({ path, authorization: req.headers.authorization, body });
          json(400, {
            error: { message: problem, type: "invalid_request_error", code: "invalid_value" },
          });
          return;
        }
      } else {
        body = JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
      }
      requests.push({ path, authorization: req.headers.authorization, body });
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      if (options.failWith && requests.length <= (options.failFirst ?? Number.POSITIVE_INFINITY)) {
        json(options.failWith, {
          error: {
            message: "boom",
            type: "invalid_request_error",
            code: options.errorCode ?? null,
          },
        });
        return;
      }
      if (options.malformed) {
        json(200, { created: 1, images: [] });
        return;
      }
      const [width, height] = String(body.size ?? "1024x1024")
        .split("x")
        .map(Number);
      const n = Number(body.n ?? 1);
      const data = await Promise.all(
        Array.from({ length: n }, async (_, i) => ({
          b64_json: await card(width ?? 1024, height ?? 1024, i),
          revised_prompt: `revised: ${String(body.prompt)}`,
        })),
      );
      json(200, { created: Math.floor(Date.now() / 1000), data });
    } catch {
      res.writeHead(500).end();
    }
  });
  const loopback = await listenOnLoopback(server);
  return {
    url: loopback.url,
    requests,
    close: loopback.close,
  };
}
