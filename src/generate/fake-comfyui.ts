import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import sharp from "sharp";
import { listenOnLoopback, readBody, readText } from "./loopback.js";

export interface FakeComfyUI {
  url: string;
  /** Every workflow received by POST /prompt, in order. */
  prompts: Array<Record<string, { class_type: string; inputs: Record<string, unknown> }>>;
  /** Counts of requests per route ("/prompt", "/history", "/view"). */
  hits: Record<string, number>;
  /** Files stored through POST /upload/image, by name (what LoadImage reads). */
  uploads: Map<string, Buffer>;
  /** Prompt ids deleted through POST /queue and interrupted through POST /interrupt. */
  deleted: string[];
  interrupted: string[];
  close(): Promise<void>;
}

export interface FakeComfyUIOptions {
  /** Time a prompt takes to "run" after it is queued, in ms. */
  latencyMs?: number;
  /** Answer POST /prompt with this status (400 comes with ComfyUI's node_errors body). */
  failWith?: number;
  /** Only the first `failFirst` POST /prompt fail. */
  failFirst?: number;
  /** Report the run as failed in /history (`status_str: "error"`). */
  executionError?: boolean;
  /** Answer /view with 404 (the output vanished). */
  missingImages?: boolean;
}

interface Job {
  done: boolean;
  error: boolean;
  files: string[];
}

/**
 * A real HTTP peer on loopback following ComfyUI's API shapes: `POST /prompt` `{ prompt,
 * client_id }` → `{ prompt_id, number, node_errors }`; `GET /history/{id}` → `{}` until the run
 * ends, then `{ [id]: { outputs: { [node]: { images: [{ filename, subfolder, type }] } }, status } }`;
 * `GET /view?filename=&subfolder=&type=` → the PNG; `POST /queue` `{ delete: [id] }`;
 * `POST /interrupt`; `GET /system_stats`; `POST /upload/image` (multipart) for LoadImage. It renders
 * flat cards of the EmptyLatentImage's size, or for img2img of the loaded input's size.
 */
export async function startFakeComfyUI(options: FakeComfyUIOptions = {}): Promise<FakeComfyUI> {
  const prompts: FakeComfyUI["prompts"] = [];
  const hits: Record<string, number> = {};
  const deleted: string[] = [];
  const interrupted: string[] = [];
  const jobs = new Map<string, Job>();
  const files = new Map<string, Buffer>();
  const uploads = new Map<string, Buffer>();
  const timers = new Set<NodeJS.Timeout>();

  const server: Server = createServer(async (req, res) => {
    const json = (status: number, body: unknown) =>
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    const url = new URL(req.url ?? "/", "http://fake");
    const route = url.pathname.startsWith("/history/") ? "/history" : url.pathname;
    hits[route] = (hits[route] ?? 0) + 1;
    try {
      if (req.method === "GET" && route === "/system_stats") {
        json(200, { system: { os: "fake" }, devices: [] });
      } else if (req.method === "POST" && route === "/upload/image") {
        // ComfyUI's upload: multipart `image` (+ `type`, `subfolder`, `overwrite`) → where it is.
        const form = await new Request("http://fake/", {
          method: "POST",
          headers: { "content-type": req.headers["content-type"] ?? "" },
          body: new Uint8Array(await readBody(req)),
        }).formData();
        const file = form.get("image");
        if (!file || typeof file === "string") {
          res.writeHead(400).end();
          return;
        }
        const subfolder = String(form.get("subfolder") ?? "");
        const name = (file as File).name || "image.png";
        uploads.set(
          subfolder ? `${subfolder}/${name}` : name,
          Buffer.from(await file.arrayBuffer()),
        );
        json(200, { name, subfolder, type: String(form.get("type") ?? "input") });
      } else if (req.method === "POST" && route === "/prompt") {
        const body = JSON.parse(await readText(req)) as { prompt: FakeComfyUI["prompts"][number] };
        prompts.push(body.prompt);
        const nodes = Object.values(body.prompt ?? {});
        if (options.failWith && prompts.length <= (options.failFirst ?? Number.POSITIVE_INFINITY)) {
          json(options.failWith, { error: { type: "fake", message: "boom" }, node_errors: {} });
          return;
        }
        if (!nodes.some((n) => n.class_type === "SaveImage")) {
          json(400, {
            error: { type: "prompt_no_outputs", message: "Prompt has no outputs", details: "" },
            node_errors: {},
          });
          return;
        }
        const latent = nodes.find((n) => n.class_type === "EmptyLatentImage")?.inputs ?? {};
        let width = Number(latent.width ?? 512);
        let height = Number(latent.height ?? 512);
        let batch = Number(latent.batch_size ?? 1);
        // img2img: the size is the loaded input's, the batch RepeatLatentBatch's amount.
        const load = nodes.find((n) => n.class_type === "LoadImage");
        // Inpainting: LoadImageMask's file (red channel, white = repaint) through SetLatentNoiseMask.
        // The fake keeps the input where the mask is black, as ComfyUI's sampler does.
        const loadMask = nodes.find((n) => n.class_type === "LoadImageMask");
        let keep: { input: Buffer; mask: Buffer } | null = null;
        if (loadMask) {
          const maskFile = uploads.get(String(loadMask.inputs.image));
          const input = load ? uploads.get(String(load.inputs.image)) : undefined;
          if (!maskFile || !input || loadMask.inputs.channel !== "red") {
            json(400, {
              error: { type: "prompt_outputs_failed_validation", message: "Invalid mask file" },
              node_errors: {},
            });
            return;
          }
          if (nodes.some((n) => n.class_type === "SetLatentNoiseMask")) {
            keep = { input, mask: maskFile };
          }
        }
        if (load) {
          const input = uploads.get(String(load.inputs.image));
          if (!input) {
            json(400, {
              error: { type: "prompt_outputs_failed_validation", message: "Invalid image file" },
              node_errors: {},
            });
            return;
          }
          const meta = await sharp(input).metadata();
          width = meta.width ?? 512;
          height = meta.height ?? 512;
          const repeat = nodes.find((n) => n.class_type === "RepeatLatentBatch")?.inputs ?? {};
          batch = Number(repeat.amount ?? 1);
        }
        const id = randomUUID();
        const job: Job = { done: false, error: false, files: [] };
        jobs.set(id, job);
        const timer = setTimeout(async () => {
          timers.delete(timer);
          if (options.executionError) job.error = true;
          else {
            for (let i = 0; i < batch; i++) {
              const name = `hallmark_${id.slice(0, 8)}_${i}.png`;
              const drawn = await sharp({
                create: { width, height, channels: 3, background: { r: 40 * i, g: 90, b: 160 } },
              })
                .png()
                .toBuffer();
              files.set(name, keep ? await keepUnmasked(drawn, keep, width, height) : drawn);
              job.files.push(name);
            }
          }
          job.done = true;
        }, options.latencyMs ?? 0);
        timers.add(timer);
        json(200, { prompt_id: id, number: prompts.length, node_errors: {} });
      } else if (req.method === "GET" && route === "/history") {
        const id = decodeURIComponent(url.pathname.slice("/history/".length));
        const job = jobs.get(id);
        if (!job?.done) {
          json(200, {});
          return;
        }
        json(200, {
          [id]: {
            prompt: [],
            outputs: job.error
              ? {}
              : {
                  "9": {
                    images: job.files.map((filename) => ({
                      filename,
                      subfolder: "",
                      type: "output",
                    })),
                  },
                },
            status: {
              status_str: job.error ? "error" : "success",
              completed: !job.error,
              messages: [],
            },
          },
        });
      } else if (req.method === "GET" && route === "/view") {
        const file = files.get(url.searchParams.get("filename") ?? "");
        if (!file || options.missingImages || url.searchParams.get("type") !== "output") {
          res.writeHead(404).end();
          return;
        }
        res
          .writeHead(200, { "content-type": "image/png", "content-length": file.length })
          .end(file);
      } else if (req.method === "POST" && route === "/queue") {
        const body = JSON.parse(await readText(req)) as { delete?: string[] };
        deleted.push(...(body.delete ?? []));
        res.writeHead(200).end();
      } else if (req.method === "POST" && route === "/interrupt") {
        const body = JSON.parse((await readText(req)) || "{}") as { prompt_id?: string };
        interrupted.push(body.prompt_id ?? "*");
        res.writeHead(200).end();
      } else {
        res.writeHead(404).end();
      }
    } catch {
      res.writeHead(500).end();
    }
  });
  const loopback = await listenOnLoopback(server, () => {
    for (const t of timers) clearTimeout(t);
  });
  return {
    url: loopback.url,
    prompts,
    hits,
    uploads,
    deleted,
    interrupted,
    close: loopback.close,
  };
}

/** `drawn` where the mask is white, the input where it is black (the mask's red channel). */
async function keepUnmasked(
  drawn: Buffer,
  keep: { input: Buffer; mask: Buffer },
  width: number,
  height: number,
): Promise<Buffer> {
  const raw = (b: Buffer) =>
    sharp(b)
      .removeAlpha()
      .toColourspace("srgb")
      .resize(width, height, { fit: "fill" })
      .raw()
      .toBuffer({ resolveWithObject: true });
  const [d, input, mask] = (await Promise.all([raw(drawn), raw(keep.input), raw(keep.mask)])).map(
    (r) => ({ data: r.data, channels: r.info.channels }),
  );
  const out = Buffer.alloc(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    const m = mask!.data[p * mask!.channels]! / 255;
    for (let c = 0; c < 3; c++) {
      out[p * 3 + c] = Math.round(
        m * d!.data[p * d!.channels + c]! + (1 - m) * input!.data[p * input!.channels + c]!,
      );
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
