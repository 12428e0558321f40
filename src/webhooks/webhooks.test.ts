import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  checkWebhookUrl,
  createWebhookSender,
  isPublicAddress,
  loadWebhookSecret,
  parseWebhookSecret,
  parseWebhookUrl,
  signWebhook,
  verifyWebhook,
} from "./index.js";

describe("Standard Webhooks signatures", () => {
  const key = randomBytes(32);

  it("verifies what it signs, and nothing altered", () => {
    const body = JSON.stringify({ type: "generation.completed", data: { id: "x" } });
    const headers = signWebhook(key, "msg_1", new Date(), body);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(verifyWebhook(key, { ...headers }, body)).toBe(true);
    expect(verifyWebhook(key, { ...headers }, `${body} `)).toBe(false);
    expect(verifyWebhook(randomBytes(32), { ...headers }, body)).toBe(false);
    expect(verifyWebhook(key, { ...headers, "webhook-id": "msg_2" }, body)).toBe(false);
    const old = signWebhook(key, "msg_1", new Date(Date.now() - 3600_000), body);
    expect(verifyWebhook(key, { ...old }, body)).toBe(false);
  });

  it("matches the Standard Webhooks reference vector", () => {
    // From standard-webhooks' libraries' tests: secret, msg id, timestamp, payload, signature.
    const secret = parseWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const headers = signWebhook(
      secret,
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      new Date(1614265330 * 1000),
      '{"test": 2432232314}',
    );
    expect(headers["webhook-signature"]).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });

  it("creates the secret file with mode 0600 and reads it back", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "hm-wh-"));
    const a = await loadWebhookSecret({ dataDir });
    expect((await stat(path.join(dataDir, "webhook.secret"))).mode & 0o777).toBe(0o600);
    expect((await loadWebhookSecret({ dataDir })).equals(a)).toBe(true);
    expect(await readFile(path.join(dataDir, "webhook.secret"), "utf8")).toMatch(/^whsec_/);
    expect(() => parseWebhookSecret("whsec_c2hvcnQ=")).toThrow(/24 to 64 bytes/);
  });
});

describe("webhook URL policy (SSRF)", () => {
  const strict = { allowPrivate: false };

  it("knows public from non-public addresses", () => {
    for (const a of [
      "127.0.0.1",
      "10.1.2.3",
      "172.20.0.1",
      "192.168.1.1",
      "169.254.169.254",
      "100.64.0.1",
      "0.0.0.0",
      "::1",
      "::",
      "fe80::1",
      "fd00::1",
      "::ffff:127.0.0.1",
      "::ffff:10.0.0.1",
      "64:ff9b::a00:1",
      "224.0.0.1",
      "not an ip",
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
    for (const a of ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) {
      expect(isPublicAddress(a), a).toBe(true);
    }
  });

  it("refuses http, credentials, private literals and hosts off the allow-list", async () => {
    expect(() => parseWebhookUrl("http://example.com/h", strict)).toThrow(/https/);
    expect(() => parseWebhookUrl("https://u:p@example.com/h", strict)).toThrow(/credentials/);
    expect(() => parseWebhookUrl("ftp://example.com", strict)).toThrow(/https/);
    expect(() => parseWebhookUrl("nonsense", strict)).toThrow(/valid absolute URL/);
    expect(() => parseWebhookUrl(`https://e.com/${"a".repeat(3000)}`, strict)).toThrow(/longer/);
    for (const url of [
      "https://127.0.0.1/h",
      "https://[::1]/h",
      "https://169.254.169.254/latest/meta-data",
      "https://[::ffff:7f00:1]/h",
      "https://localhost/h",
      "https://10.0.0.8:8443/h",
    ]) {
      await expect(checkWebhookUrl(url, strict), url).rejects.toMatchObject({
        code: "invalid_webhook_url",
      });
    }
    const listed = { allowPrivate: false, allowedHosts: ["hooks.example.com", ".acme.test"] };
    expect(() => parseWebhookUrl("https://evil.example.com/h", listed)).toThrow(/allowed list/);
    expect(parseWebhookUrl("https://a.acme.test/h", listed).hostname).toBe("a.acme.test");
    await expect(
      checkWebhookUrl("https://127.0.0.1/h", { allowPrivate: true }),
    ).resolves.toBeInstanceOf(URL);
  });

  it("never throws anything but invalid_webhook_url on junk (property)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), async (s) => {
        try {
          parseWebhookUrl(s, strict);
        } catch (error) {
          expect((error as { code?: string }).code).toBe("invalid_webhook_url");
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("webhook delivery to a loopback receiver", () => {
  const key = randomBytes(32);
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];
  let status = 204;
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        res.statusCode = status;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("delivers a signed event the receiver can verify", async () => {
    const sender = createWebhookSender({ key, policy: { allowPrivate: true }, timeoutMs: 5000 });
    const event = { type: "generation.completed", timestamp: "t", data: { id: "g" } };
    await expect(sender.send(url, event, "msg_fixed")).resolves.toEqual({ status: 204 });
    const got = received.at(-1)!;
    expect(got.headers["webhook-id"]).toBe("msg_fixed");
    expect(JSON.parse(got.body)).toEqual(event);
    expect(verifyWebhook(key, got.headers as Record<string, string>, got.body)).toBe(true);
  });

  it("fails on a non-2xx answer (the caller retries)", async () => {
    status = 500;
    const sender = createWebhookSender({ key, policy: { allowPrivate: true }, timeoutMs: 5000 });
    await expect(sender.send(url, { type: "x", timestamp: "t", data: {} })).rejects.toThrow(/500/);
    status = 204;
  });

  it("does not connect to loopback unless private addresses are allowed", async () => {
    const before = received.length;
    const strict = createWebhookSender({ key, policy: { allowPrivate: false }, timeoutMs: 5000 });
    await expect(
      strict.send(url.replace("http:", "https:"), { type: "x", timestamp: "t", data: {} }),
    ).rejects.toMatchObject({ code: "invalid_webhook_url" });
    expect(received.length).toBe(before);
  });
});
