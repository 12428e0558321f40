import { mkdtempSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generations } from "../../db/schema.js";
import { testDatabases } from "../../db/test-databases.js";
import {
  type FakeAutomatic1111,
  type FakeOpenAIImages,
  startFakeAutomatic1111,
  startFakeOpenAIImages,
} from "../../generate/index.js";
import { startTestGateway, type TestGateway } from "../../runtime/test-gateway.js";

/** HALLMARK_BACKENDS_FILE: three backends behind one gateway, routed by the request's model. */
describe.each(testDatabases())(
  "several backends from a file, routed by model, on $name",
  (testDb) => {
    let a1111: FakeAutomatic1111;
    let openai: FakeOpenAIImages;
    let gw: TestGateway;
    beforeAll(async () => {
      a1111 = await startFakeAutomatic1111();
      openai = await startFakeOpenAIImages({ apiKey: "sk-routing-test" });
      const file = path.join(mkdtempSync(path.join(tmpdir(), "hm-backends-")), "backends.yaml");
      writeFileSync(
        file,
        [
          "default: local",
          "backends:",
          "  local:",
          "    kind: placeholder",
          "  gpu:",
          "    kind: automatic1111",
          `    url: ${a1111.url}`,
          "    models: [sd-v1-5]",
          "  cloud:",
          "    kind: openai",
          `    url: ${openai.url}`,
          "    model: fake-image-1",
          "    api_key_env: HM_TEST_CLOUD_KEY",
          "",
        ].join("\n"),
      );
      gw = await startTestGateway(testDb, {
        HALLMARK_BACKENDS_FILE: file,
        HM_TEST_CLOUD_KEY: "sk-routing-test",
      });
    });
    afterAll(async () => {
      await gw?.close();
      await a1111?.close();
      await openai?.close();
    });

    const generate = (json: Record<string, unknown>) =>
      gw.request("/v1/images/generations", { json: { prompt: "a lighthouse", ...json } });

    it("a request that names no model goes to the default backend", async () => {
      const res = await generate({});
      expect(res.status).toBe(200);
      expect((await res.json()).hallmark).toMatchObject({ backend: "placeholder" });
      expect(a1111.requests).toHaveLength(0);
      expect(openai.requests).toHaveLength(0);
    });

    it("a named model goes to the backend that serves it, with that backend's key", async () => {
      const sd = await generate({ model: "sd-v1-5", seed: 4 });
      expect(sd.status).toBe(200);
      expect((await sd.json()).hallmark).toMatchObject({ backend: "automatic1111" });
      expect(a1111.requests.at(-1)).toMatchObject({ prompt: "a lighthouse", seed: 4 });
      const cloud = await generate({ model: "fake-image-1" });
      expect(cloud.status).toBe(200);
      expect((await cloud.json()).hallmark).toMatchObject({
        backend: "openai",
        model: { id: "fake-image-1" },
      });
      expect(openai.requests.at(-1)).toMatchObject({ authorization: "Bearer sk-routing-test" });
    });

    it("each backend's queue has its own gauge", async () => {
      const text = await (await gw.request("/metrics", { key: null })).text();
      for (const name of ["local", "gpu", "cloud"]) {
        expect(text).toMatch(new RegExp(`hallmark_queue_depth\\{queue="backend:${name}"\\} 0`));
      }
    });

    it("GET /v1/models lists every backend's models (the openai client reads it)", async () => {
      const server = serve({ fetch: gw.runtime.app.fetch, hostname: "127.0.0.1", port: 0 });
      await new Promise((r) => server.once("listening", r));
      try {
        const client = new OpenAI({
          apiKey: gw.key,
          baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
          maxRetries: 0,
        });
        const listed = [];
        for await (const m of client.models.list()) listed.push([m.id, m.owned_by]);
        expect(listed).toEqual([
          ["hallmark-placeholder", "local"],
          ["automatic1111-default", "gpu"],
          ["sd-v1-5", "gpu"],
          ["fake-image-1", "cloud"],
        ]);
        const sd = await client.models.retrieve("sd-v1-5");
        expect(sd).toMatchObject({ id: "sd-v1-5", object: "model", owned_by: "gpu" });
        const missing = await client.models.retrieve("no-such-model").catch((e) => e);
        expect(missing).toMatchObject({ status: 404, code: "model_not_found" });
      } finally {
        await new Promise((r) => server.close(r));
      }
      const raw = await (await gw.request("/v1/models")).json();
      expect(raw.data[0]).toMatchObject({ hallmark: { backend: "local", default: true } });
      expect(raw.data[1]).toMatchObject({ hallmark: { backend: "gpu", default: false } });
    });

    it("a model no backend serves is 404 model_not_found, recorded as refused, no backend called", async () => {
      const before = a1111.requests.length + openai.requests.length;
      const res = await generate({ model: "no-such-model" });
      expect(res.status).toBe(404);
      const error = (await res.json()).error;
      expect(error).toMatchObject({ code: "model_not_found", param: "model" });
      expect(error.message).toContain("sd-v1-5");
      expect(a1111.requests.length + openai.requests.length).toBe(before);
      const rows = await gw.database.db.select().from(generations);
      const row = rows.find((r) => r.id === error.generation_id);
      expect(row).toMatchObject({ status: "refused", errorCode: "model_not_found" });
    });
  },
);
