import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { HallmarkError } from "../errors/index.js";
import {
  createProgressReporter,
  type ProgressSink,
  type ProgressUpdate,
} from "./generate-progress.js";
import { readSse } from "./generate-sse.js";

/** What `hallmark generate` needs from the CLI around it. */
export interface GenerateCliContext {
  /** The gateway to call when --url is not given (the serve configuration's address). */
  defaultUrl: string;
  /** The key file when --key-file is not given: the bootstrap key in the data folder. */
  defaultKeyFile: string;
}

export interface GenerateOptions {
  prompt: string;
  url: string;
  keyFile: string;
  n?: number;
  size?: string;
  seed?: number;
  negativePrompt?: string;
  model?: string;
  format?: "png" | "jpeg" | "webp";
  /** Folder the images are written to (created if missing). */
  out: string;
  /** Print the completed response's `hallmark` block as JSON on stdout instead of the paths. */
  json?: boolean;
}

export interface GenerateIo {
  /** Results: one written path per line (or the JSON). */
  stdout: { write(text: string): unknown };
  /** Progress (a bar on a terminal) and errors. */
  stderr: ProgressSink;
  fetch?: typeof fetch;
  /** Ctrl-C: the request is dropped, which cancels the generation on the gateway. */
  signal?: AbortSignal;
}

const EXTENSIONS: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
};

/** The URL a local client reaches `serve` on (a wildcard listen address means this host). */
export function localGatewayUrl(host: string, port: number): string {
  const h = host === "0.0.0.0" || host === "::" || host === "" ? "127.0.0.1" : host;
  return `http://${h.includes(":") ? `[${h}]` : h}:${port}`;
}

/**
 * `hallmark generate`: asks the running gateway for images over HTTP with `stream: true`, shows
 * its progress on stderr, and writes the images (screened, watermarked, C2PA-signed, audited,
 * exactly as any API client gets them) to files named `<generation id>-<i>.<ext>`. It goes
 * through the gateway rather than running the pipeline in-process: the gateway holds the
 * database (PGlite allows one process), the keys and the limits, and a CLI image is then audited
 * and counted like any other. Returns the exit code: 0 written, 1 refused or failed, 2 held for
 * review (nothing written; the generation's Location is printed).
 */
export async function runGenerate(options: GenerateOptions, io: GenerateIo): Promise<number> {
  const doFetch = io.fetch ?? fetch;
  const key = await readKey(options.keyFile);
  const body: Record<string, unknown> = { prompt: options.prompt, stream: true };
  if (options.n !== undefined) body.n = options.n;
  if (options.size !== undefined) body.size = options.size;
  if (options.seed !== undefined) body.seed = options.seed;
  if (options.negativePrompt !== undefined) body.negative_prompt = options.negativePrompt;
  if (options.model !== undefined) body.model = options.model;
  if (options.format !== undefined) body.output_format = options.format;

  const endpoint = `${options.url.replace(/\/+$/, "")}/v1/images/generations`;
  let res: Response;
  try {
    res = await doFetch(endpoint, {
      method: "POST",
      headers: {
        authorization: `Bearer ${key}`,
        "content-type": "application/json",
        accept: "text/event-stream",
      },
      body: JSON.stringify(body),
      signal: io.signal,
    });
  } catch (error) {
    if (io.signal?.aborted) return fail(io, "cancelled");
    return fail(io, `cannot reach the gateway at ${options.url}: ${(error as Error).message}`);
  }
  if (!(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    // Refused or failed before generating: the API's JSON error.
    const text = await res.text();
    return fail(io, describeError(res.status, parseJson(text)) ?? `HTTP ${res.status}: ${text}`);
  }

  const progress = createProgressReporter(io.stderr);
  try {
    for await (const event of readSse(res.body as ReadableStream<Uint8Array>)) {
      const data = parseJson(event.data) as Record<string, unknown> | null;
      if (!data) continue;
      if (event.event === "hallmark.progress") {
        progress.update(data as unknown as ProgressUpdate);
      } else if (event.event === "image_generation.completed") {
        progress.done();
        return await writeImages(options, io, data as unknown as CompletedBody);
      } else if (event.event === "hallmark.held") {
        progress.done();
        io.stderr.write(`held for review: nothing was delivered; poll ${String(data.location)}\n`);
        io.stdout.write(`${String(data.location)}\n`);
        return 2;
      } else if (event.event === "error") {
        progress.done();
        return fail(io, describeError(Number(data.status), data) ?? event.data);
      }
    }
  } catch (error) {
    progress.done();
    if (io.signal?.aborted) return fail(io, "cancelled");
    return fail(io, `the stream broke: ${(error as Error).message}`);
  }
  progress.done();
  return fail(io, "the gateway ended the stream without a result");
}

interface CompletedBody {
  data: Array<{ b64_json: string }>;
  hallmark: {
    generation_id: string;
    log_index: number;
    model: { id: string };
    backend: string;
    images: Array<{ media_type: string; sha256: string }>;
  };
}

async function writeImages(
  options: GenerateOptions,
  io: GenerateIo,
  body: CompletedBody,
): Promise<number> {
  await mkdir(options.out, { recursive: true });
  const h = body.hallmark;
  const paths: string[] = [];
  for (const [i, item] of body.data.entries()) {
    const ext = EXTENSIONS[h.images[i]?.media_type ?? ""] ?? "bin";
    const file = path.join(options.out, `${h.generation_id}-${i}.${ext}`);
    await writeFile(file, Buffer.from(item.b64_json, "base64"));
    paths.push(file);
  }
  io.stderr.write(
    `generation ${h.generation_id} (audit log index ${h.log_index}), ${h.model.id} on ${h.backend}\n`,
  );
  if (options.json) io.stdout.write(`${JSON.stringify({ files: paths, hallmark: h })}\n`);
  else for (const file of paths) io.stdout.write(`${file}\n`);
  return 0;
}

async function readKey(file: string): Promise<string> {
  let key: string;
  try {
    key = (await readFile(file, "utf8")).trim();
  } catch {
    throw new HallmarkError(
      "missing_api_key",
      `No API key: ${file} cannot be read. Pass --key-file with a key from \`hallmark key create\`.`,
    );
  }
  if (!key) throw new HallmarkError("missing_api_key", `${file} is empty.`);
  return key;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** `refused (content_policy_violation, HTTP 400): The prompt was refused …` from an error body. */
function describeError(status: number, body: unknown): string | null {
  const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
  if (!error?.message) return null;
  return `${error.message} (${error.code ?? "error"}, HTTP ${status})`;
}

function fail(io: GenerateIo, message: string): number {
  io.stderr.write(`hallmark generate: ${message}\n`);
  return 1;
}

/**
 * Registers `hallmark generate <prompt...>` (docs/backends.md, "Progress").
 *
 * @example hallmark generate --size 512x512 --out ./images "a red apple"
 */
export function registerGenerateCommand(program: Command, ctx: GenerateCliContext): void {
  program
    .command("generate <prompt...>")
    .description(
      "generate images through the running gateway (streamed progress on stderr; files written)",
    )
    .option("--url <url>", "the gateway", ctx.defaultUrl)
    .option("--key-file <file>", "a file holding the API key", ctx.defaultKeyFile)
    .option("-n, --n <count>", "number of images", (v) => Number.parseInt(v, 10))
    .option("--size <WxH>", "image size, one the gateway allows (e.g. 512x512)")
    .option("--seed <seed>", "seed of the first image", (v) => Number.parseInt(v, 10))
    .option("--negative <prompt>", "negative prompt")
    .option("--model <id>", "model id (the tenant's allow-list decides)")
    .option("--format <format>", "png, jpeg or webp")
    .option("-o, --out <dir>", "folder for the images", ".")
    .option("--json", "print the files and the response's hallmark block as JSON")
    .action(
      async (
        words: string[],
        opts: Omit<GenerateOptions, "prompt" | "negativePrompt"> & { negative?: string },
      ) => {
        const controller = new AbortController();
        const onInterrupt = () => controller.abort();
        process.once("SIGINT", onInterrupt);
        try {
          const format = opts.format;
          if (format !== undefined && !["png", "jpeg", "webp"].includes(format)) {
            throw new HallmarkError("invalid_request_error", "--format: png, jpeg or webp");
          }
          process.exitCode = await runGenerate(
            { ...opts, prompt: words.join(" "), negativePrompt: opts.negative },
            { stdout: process.stdout, stderr: process.stderr, signal: controller.signal },
          );
        } finally {
          process.off("SIGINT", onInterrupt);
        }
      },
    );
}
