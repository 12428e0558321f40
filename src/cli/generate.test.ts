import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { serve } from "@hono/node-server";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDatabases } from "../db/test-databases.js";
import { startTestGateway, type TestGateway } from "../runtime/test-gateway.js";
import { runGenerate } from "./generate.js";
import { createProgressReporter } from "./generate-progress.js";
import { readSse } from "./generate-sse.js";

const PACKAGE_ROOT = new URL("../..", import.meta.url).pathname;
const STARTUP_MS = 300_000;

function sink(isTTY: boolean) {
  let text = "";
  return {
    isTTY,
    columns: 80,
    write: (s: string) => {
      text += s;
      return true;
    },
    get text() {
      return text;
    },
  };
}

describe("readSse", () => {
  it("parses events split anywhere across chunks, skipping comments", async () => {
    const wire =
      ': keep-alive\n\nevent: a\ndata: {"x":1}\n\r\nevent: b\ndata: line1\ndata: line2\n\ndata: tail';
    const chunks = [wire.slice(0, 7), wire.slice(7, 23), wire.slice(23, 40), wire.slice(40)];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
        controller.close();
      },
    });
    const events = [];
    for await (const e of readSse(body)) events.push(e);
    expect(events).toEqual([
      { event: "a", data: '{"x":1}' },
      { event: "b", data: "line1\nline2" },
      { event: "message", data: "tail" },
    ]);
  });
});

describe("the progress reporter", () => {
  const run = (reporter: ReturnType<typeof createProgressReporter>) => {
    reporter.update({ stage: "screen_prompt", status: "started" });
    reporter.update({ stage: "screen_prompt", status: "applied" });
    reporter.update({ stage: "generate", status: "started" });
    for (let i = 1; i <= 8; i++)
      reporter.update({ stage: "generate", status: "running", step: i, steps: 8 });
    reporter.update({ stage: "generate", status: "applied" });
    reporter.update({ stage: "watermark", status: "absent" });
    reporter.done();
  };

  it("draws a bar redrawn in place on a terminal", () => {
    const out = sink(true);
    run(createProgressReporter(out));
    expect(out.text).toContain("\r\x1b[2K[");
    expect(out.text).toContain("generate 4/8");
    expect(out.text).toMatch(/\] +80% watermark\n$/); // screen_prompt 5 + generate 70 + watermark 5
    expect(out.text).toContain("40% generate 4/8"); // 5 + 70 × 4/8
    expect(out.text.split("\n")).toHaveLength(2); // one line, ended once
  });

  it("writes plain lines elsewhere (stages, steps every quarter)", () => {
    const out = sink(false);
    run(createProgressReporter(out));
    expect(out.text).not.toContain("\r");
    expect(out.text.split("\n").filter(Boolean)).toEqual([
      "screen_prompt…",
      "generate…",
      "generate step 2/8",
      "generate step 4/8",
      "generate step 6/8",
      "generate step 8/8",
      "watermark: absent",
    ]);
  });
});

describe("hallmark generate against a running gateway (pglite)", () => {
  let gw: TestGateway;
  let server: ReturnType<typeof serve>;
  let url: string;
  let keyFile: string;
  let dir: string;
  beforeAll(async () => {
    gw = await startTestGateway(testDatabases()[0]!);
    server = serve({ fetch: gw.runtime.app.fetch, hostname: "127.0.0.1", port: 0 });
    await new Promise((resolve) => server.once("listening", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(path.join(tmpdir(), "hm-cli-generate-"));
    keyFile = path.join(dir, "key");
    writeFileSync(keyFile, `${gw.key}\n`, { mode: 0o600 });
  }, STARTUP_MS);
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await gw.close();
  }, STARTUP_MS);

  it("writes the signed images and shows a bar on a terminal", async () => {
    const stdout = sink(false);
    const stderr = sink(true);
    const out = path.join(dir, "a");
    const code = await runGenerate(
      { prompt: "a lighthouse at dusk", url, keyFile, n: 2, size: "256x256", seed: 3, out },
      { stdout, stderr },
    );
    expect(code).toBe(0);
    const files = stdout.text.trim().split("\n");
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/[0-9a-f-]{36}-0\.png$/);
    const meta = await sharp(readFileSync(files[1]!)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(["png", 256, 256]);
    expect(readdirSync(out).sort()).toEqual(files.map((f) => path.basename(f)).sort());
    // What the file holds is what the gateway recorded: screened, marked, signed.
    const id = path.basename(files[0]!).slice(0, 36);
    const record = await (await gw.request(`/v1/generations/${id}`)).json();
    expect(record.status).toBe("completed");
    expect(stderr.text).toContain("\r\x1b[2K[");
    expect(stderr.text).toContain("100% record");
    expect(stderr.text).toContain(`generation ${id}`);
  });

  it("a refused prompt is a message and exit code 1, nothing written", async () => {
    const stdout = sink(false);
    const stderr = sink(false);
    const out = path.join(dir, "refused");
    const code = await runGenerate(
      { prompt: "explicit porn of a nude woman", url, keyFile, out },
      { stdout, stderr },
    );
    expect(code).toBe(1);
    expect(stdout.text).toBe("");
    expect(stderr.text).toMatch(
      /refused under the content policy.*content_policy_violation, HTTP 400/,
    );
  });

  it("a wrong key and an unreachable gateway are clear errors", async () => {
    const badKey = path.join(dir, "bad-key");
    writeFileSync(badKey, "hm_not_a_key\n");
    const stderr = sink(false);
    expect(
      await runGenerate(
        { prompt: "a cat", url, keyFile: badKey, out: dir },
        { stdout: sink(false), stderr },
      ),
    ).toBe(1);
    expect(stderr.text).toMatch(/HTTP 401/);
    const down = sink(false);
    expect(
      await runGenerate(
        { prompt: "a cat", url: "http://127.0.0.1:9", keyFile, out: dir },
        { stdout: sink(false), stderr: down },
      ),
    ).toBe(1);
    expect(down.text).toMatch(/cannot reach the gateway/);
  });

  it("runs as `hallmark generate` (plain progress lines when stderr is not a terminal)", async () => {
    const out = path.join(dir, "cli");
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(PACKAGE_ROOT, "src/cli/main.ts"),
        "generate",
        "--url",
        url,
        "--key-file",
        keyFile,
        "--size",
        "256x256",
        "--out",
        out,
        "a",
        "red",
        "barn",
      ],
      {
        cwd: PACKAGE_ROOT,
        env: { PATH: process.env.PATH ?? "", HALLMARK_DATA_DIR: dir },
        timeout: 120_000,
      },
    );
    const file = stdout.trim();
    expect(file).toMatch(/-0\.png$/);
    expect((await sharp(readFileSync(file)).metadata()).width).toBe(256);
    expect(stderr).toMatch(/^screen_prompt…\n(.*\n)?generate…\n/);
    expect(stderr).not.toContain("\r");
    const id = path.basename(file).slice(0, 36);
    const record = await (await gw.request(`/v1/generations/${id}`)).json();
    expect(record).toMatchObject({ status: "completed", prompt: "a red barn" });
  });
});
