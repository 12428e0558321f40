/**
 * Remote image URLs in POST /v1/moderations (HALLMARK_MODERATION_REMOTE_IMAGES): the gateway
 * with the switch on still refuses loopback and metadata addresses (a 400 in the API error shape,
 * nothing fetched); the route with a fetcher given a test-only loopback allowance fetches, screens,
 * and maps size, type, redirect and time refusals to 4xx.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { OpenAPIHono } from "@hono/zod-openapi";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createImageClassifier,
  createRemoteImageFetcher,
  type ImageClassifier,
  isPublicUnicastAddress,
} from "../../classify/image/index.js";
import { createTextClassifier, type TextClassifier } from "../../classify/text/index.js";
import { testDatabases } from "../../db/test-databases.js";
import { loadPolicyFile } from "../../policy/index.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";
import type { AppEnv } from "../context.js";
import { errorResponse } from "../errors.js";
import { registerModerations } from "./moderations.js";

const root = join(import.meta.dirname, "..", "..", "..");
let server: Server;
let base: string;
let hits = 0;

beforeAll(async () => {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#6a8" } })
    .png()
    .toBuffer();
  server = createServer((req, res) => {
    hits++;
    const path = req.url ?? "/";
    if (path === "/ok.png") {
      res.writeHead(200, { "content-type": "image/png" });
      res.end(png);
    } else if (path === "/big.png") {
      res.writeHead(200, { "content-type": "image/png", "content-length": 1_000_000 });
      res.end(Buffer.alloc(1_000_000));
    } else if (path === "/page") {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<p>hi</p>");
    } else if (path === "/to-metadata") {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" });
      res.end();
    } else if (path === "/slow") {
      // never answers
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const part = (url: string) => ({ type: "image_url", image_url: { url } });

describe("POST /v1/moderations, remote images switched on (pglite gateway)", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(testDatabases()[0]!, {
      HALLMARK_MODERATION_REMOTE_IMAGES: "true",
      HALLMARK_MODERATION_REMOTE_TIMEOUT_MS: "2000",
    });
  }, 240_000);
  afterAll(() => gw?.close());

  it("still refuses loopback, private and metadata addresses: 400, nothing fetched", async () => {
    const before = hits;
    for (const url of [
      `${base}/ok.png`,
      "http://localhost/a.png",
      "http://169.254.169.254/latest/meta-data/",
      "http://[::ffff:127.0.0.1]/a.png",
      "http://10.0.0.1/a.png",
    ]) {
      const res = await gw.request("/v1/moderations", {
        json: { input: [{ type: "text", text: "hello" }, part(url)] },
      });
      expect(res.status, url).toBe(400);
      const { error } = await res.json();
      expect(error).toMatchObject({
        type: "invalid_request_error",
        code: "invalid_request_error",
        param: "input[1].image_url.url",
      });
      expect(error.message, url).toMatch(/private, loopback|does not resolve/);
    }
    expect(hits).toBe(before);
  });
});

describe("POST /v1/moderations with a remote-image fetcher (route, loopback allowance)", () => {
  let app: OpenAPIHono<AppEnv>;
  let text: TextClassifier;
  let image: ImageClassifier;
  beforeAll(async () => {
    text = await createTextClassifier({ lexiconDir: join(root, "policies/lexicons") });
    image = await createImageClassifier({
      modelsDir: join(root, "models"),
      ocr: false,
      faces: false,
    });
    const policy = await loadPolicyFile(join(root, "policies/default.yaml"));
    app = new OpenAPIHono<AppEnv>();
    app.onError((e, c) => errorResponse(c, e));
    registerModerations(app, {
      text,
      image,
      policy,
      maxChars: 4000,
      maxInputs: 16,
      maxImages: 4,
      // The only way to reach loopback: an allowance passed in as a dependency, as tests do.
      fetchImage: createRemoteImageFetcher({
        maxBytes: 64 * 1024,
        timeoutMs: 500,
        allowAddress: (a) => a === "127.0.0.1" || isPublicUnicastAddress(a),
      }),
    });
  }, 120_000);
  afterAll(async () => {
    await image?.close();
    await text?.close();
  });

  const post = (url: string) =>
    app.request("/v1/moderations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ input: [part(url)] }),
    });

  it("fetches and screens an image from an allowed host", async () => {
    const res = await post(`${base}/ok.png`);
    expect(res.status).toBe(200);
    const [r] = (await res.json()).results;
    expect(r.hallmark.images[0]).toMatchObject({ index: 0, width: 64, height: 64 });
    expect(r.category_applied_input_types.sexual).toEqual(["image"]);
  });

  it.each([
    ["/big.png", 413, "payload_too_large"],
    ["/page", 415, "unsupported_media_type"],
    ["/to-metadata", 400, "invalid_request_error"],
    ["/slow", 400, "invalid_request_error"],
    ["/gone", 400, "invalid_request_error"],
  ])("%s → %i %s in the API error shape", async (path, status, code) => {
    const res = await post(`${base}${path}`);
    expect(res.status).toBe(status);
    const { error } = await res.json();
    expect(error.code).toBe(code);
    expect(error.param).toBe("input[0].image_url.url");
    expect(typeof error.message).toBe("string");
  });
});
