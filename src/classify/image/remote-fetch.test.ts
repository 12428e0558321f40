import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HallmarkError } from "../../errors/index.js";
import { createRemoteImageFetcher, isPublicUnicastAddress } from "./remote-fetch.js";

const PARAM = "input[0].image_url.url";

/** A real HTTP peer on loopback; each path is one behaviour. */
let server: Server;
let base: string;
let png: Buffer;
const hosts: string[] = [];

function handle(req: IncomingMessage, res: ServerResponse): void {
  hosts.push(String(req.headers.host));
  const path = req.url ?? "/";
  if (path === "/ok.png") {
    res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
    res.end(png);
  } else if (path === "/svg") {
    res.writeHead(200, { "content-type": "image/svg+xml" });
    res.end("<svg/>");
  } else if (path === "/html") {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<html></html>");
  } else if (path === "/big-declared") {
    res.writeHead(200, { "content-type": "image/png", "content-length": 10_000 });
    res.end(Buffer.alloc(10_000));
  } else if (path === "/big-chunked") {
    // No Content-Length: the reader must stop by itself past the limit.
    res.writeHead(200, { "content-type": "image/png" });
    const chunk = Buffer.alloc(1024);
    let sent = 0;
    const pump = () => {
      while (sent < 64 && res.write(chunk)) sent++;
      if (sent < 64) res.once("drain", pump);
      else res.end();
    };
    pump();
  } else if (path === "/stall-headers") {
    // Never answers: the deadline must end it.
  } else if (path === "/stall-body") {
    res.writeHead(200, { "content-type": "image/png", "content-length": 1000 });
    res.write(Buffer.alloc(10));
  } else if (path.startsWith("/redirect?to=")) {
    res.writeHead(302, { location: decodeURIComponent(path.slice("/redirect?to=".length)) });
    res.end();
  } else if (path === "/loop") {
    res.writeHead(301, { location: "/loop" });
    res.end();
  } else if (path === "/missing") {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("no");
  } else {
    res.writeHead(500);
    res.end();
  }
}

beforeAll(async () => {
  png = await sharp({ create: { width: 8, height: 8, channels: 3, background: "#336699" } })
    .png()
    .toBuffer();
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** The test-only allowance: public addresses and this test's loopback server, nothing else. */
const loopbackAllowed = (a: string) => a === "127.0.0.1" || isPublicUnicastAddress(a);
const options = { maxBytes: 4096, timeoutMs: 2_000 };

async function refusal(p: Promise<unknown>): Promise<HallmarkError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(HallmarkError);
  const h = error as HallmarkError;
  expect(h.param).toBe(PARAM);
  return h;
}

describe("isPublicUnicastAddress (ipaddr.js ranges)", () => {
  it.each([
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["192.168.1.1", "private"],
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["169.254.169.254", "link-local (cloud metadata)"],
    ["100.64.0.1", "carrier-grade NAT"],
    ["100.100.100.200", "carrier-grade NAT (Alibaba metadata)"],
    ["224.0.0.1", "multicast"],
    ["0.0.0.0", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["192.0.0.192", "reserved (Oracle metadata)"],
    ["198.18.0.1", "benchmarking"],
    ["240.0.0.1", "reserved"],
    ["::1", "IPv6 loopback"],
    ["::", "IPv6 unspecified"],
    ["fe80::1", "IPv6 link-local"],
    ["fd00:ec2::254", "IPv6 unique-local (AWS metadata)"],
    ["fc00::1", "IPv6 unique-local"],
    ["ff02::1", "IPv6 multicast"],
    ["::ffff:127.0.0.1", "IPv4-mapped loopback"],
    ["::ffff:7f00:1", "IPv4-mapped loopback, hex form"],
    ["::ffff:8.8.8.8", "IPv4-mapped, even of a public address"],
    ["64:ff9b::a00:1", "NAT64 of 10.0.0.1"],
    ["2002:a00:1::", "6to4 of 10.0.0.1"],
    ["2001:db8::1", "documentation"],
    ["not-an-ip", "not an address"],
  ])("refuses %s (%s)", (address) => {
    expect(isPublicUnicastAddress(address)).toBe(false);
  });
  it.each(["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"])("allows %s", (a) => {
    expect(isPublicUnicastAddress(a)).toBe(true);
  });
});

describe("createRemoteImageFetcher", () => {
  it("refuses the loopback server under the default protection, without connecting", async () => {
    const before = hosts.length;
    const fetchImage = createRemoteImageFetcher(options);
    const e = await refusal(fetchImage(`${base}/ok.png`, PARAM));
    expect(e.code).toBe("invalid_request_error");
    expect(e.details?.reason).toBe("address");
    expect(hosts.length).toBe(before);
  });

  it("fetches from the loopback server through the test-only allowance", async () => {
    const fetchImage = createRemoteImageFetcher({ ...options, allowAddress: loopbackAllowed });
    const bytes = await fetchImage(`${base}/ok.png`, PARAM);
    expect(Buffer.from(bytes).equals(png)).toBe(true);
  });

  it.each([
    "http://10.0.0.1/a.png",
    "http://172.20.1.1/a.png",
    "http://192.168.0.10/a.png",
    "http://127.0.0.2/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.1.1/a.png",
    "http://100.100.100.200/latest/meta-data/",
    "http://224.0.0.251/a.png",
    "http://0.0.0.0/a.png",
    "http://[::1]/a.png",
    "http://[fe80::1]/a.png",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:127.0.0.1]/a.png",
    "http://[::ffff:a9fe:a9fe]/latest/",
    "http://[::]/a.png",
    // Other spellings of loopback that the URL parser normalises to 127.0.0.1.
    "http://2130706433/a.png",
    "http://0x7f.1/a.png",
  ])("refuses %s before connecting", async (url) => {
    const e = await refusal(createRemoteImageFetcher(options)(url, PARAM));
    expect(e.code).toBe("invalid_request_error");
    expect(e.details?.reason).toBe("address");
  });

  it("checks every resolved address and connects to the checked one (no rebinding)", async () => {
    const port = (server.address() as AddressInfo).port;
    // A name with one public and one private address is refused outright.
    const mixed = createRemoteImageFetcher({
      ...options,
      resolve: async () => [
        { address: "8.8.8.8", family: 4 },
        { address: "10.0.0.1", family: 4 },
      ],
    });
    expect((await refusal(mixed(`http://images.test:${port}/ok.png`, PARAM))).details?.reason).toBe(
      "address",
    );
    // A resolver that answers loopback first and something else afterwards: the connection
    // goes to the address that was checked (this test's server), with the name as Host.
    let calls = 0;
    const rebinding = createRemoteImageFetcher({
      ...options,
      allowAddress: loopbackAllowed,
      resolve: async () =>
        calls++ === 0
          ? [{ address: "127.0.0.1", family: 4 }]
          : [{ address: "10.0.0.1", family: 4 }],
    });
    const bytes = await rebinding(`http://images.test:${port}/ok.png`, PARAM);
    expect(Buffer.from(bytes).equals(png)).toBe(true);
    expect(calls).toBe(1);
    expect(hosts.at(-1)).toBe(`images.test:${port}`);
  });

  it("refuses a name that does not resolve (400)", async () => {
    const fetchImage = createRemoteImageFetcher({
      ...options,
      resolve: async () => {
        throw new Error("ENOTFOUND");
      },
    });
    expect((await refusal(fetchImage("https://nowhere.test/a.png", PARAM))).details?.reason).toBe(
      "dns",
    );
  });

  it.each([
    ["ftp://example.com/a.png", "scheme"],
    ["file:///etc/passwd", "scheme"],
    ["gopher://example.com/", "scheme"],
    ["http://user:pw@example.com/a.png", "credentials"],
    [`https://example.com/${"a".repeat(2100)}`, "url"],
  ])("refuses %s (%s)", async (url, reason) => {
    const e = await refusal(createRemoteImageFetcher(options)(url, PARAM));
    expect(e.code).toBe("invalid_request_error");
    expect(e.details?.reason).toBe(reason);
  });

  it("refuses a redirect to a private or metadata address, without following it", async () => {
    const fetchImage = createRemoteImageFetcher({ ...options, allowAddress: loopbackAllowed });
    for (const to of [
      "http://10.0.0.1/a.png",
      "http://169.254.169.254/latest/meta-data/",
      "http://[::1]/a.png",
    ]) {
      const e = await refusal(fetchImage(`${base}/redirect?to=${encodeURIComponent(to)}`, PARAM));
      expect(e.details?.reason).toBe("address");
    }
  });

  it("follows a bounded number of redirects, each re-checked", async () => {
    const fetchImage = createRemoteImageFetcher({ ...options, allowAddress: loopbackAllowed });
    const ok = await fetchImage(`${base}/redirect?to=${encodeURIComponent("/ok.png")}`, PARAM);
    expect(Buffer.from(ok).equals(png)).toBe(true);
    expect((await refusal(fetchImage(`${base}/loop`, PARAM))).details?.reason).toBe("redirect");
    const none = createRemoteImageFetcher({
      ...options,
      allowAddress: loopbackAllowed,
      maxRedirects: 0,
    });
    const e = await refusal(none(`${base}/redirect?to=${encodeURIComponent("/ok.png")}`, PARAM));
    expect(e.details?.reason).toBe("redirect");
  });

  it("refuses oversize bodies: declared (before reading) or streamed (stops past the limit)", async () => {
    const fetchImage = createRemoteImageFetcher({ ...options, allowAddress: loopbackAllowed });
    for (const path of ["/big-declared", "/big-chunked"]) {
      const e = await refusal(fetchImage(`${base}${path}`, PARAM));
      expect(e.code).toBe("payload_too_large");
    }
  });

  it("gives up at the deadline: no answer, or a body that stalls", async () => {
    const fetchImage = createRemoteImageFetcher({
      ...options,
      timeoutMs: 300,
      allowAddress: loopbackAllowed,
    });
    for (const path of ["/stall-headers", "/stall-body"]) {
      const start = performance.now();
      const e = await refusal(fetchImage(`${base}${path}`, PARAM));
      expect(e.code).toBe("invalid_request_error");
      expect(e.details?.reason).toBe("timeout");
      expect(performance.now() - start).toBeLessThan(1_500);
    }
  });

  it("refuses what is not a raster image (SVG, HTML: 415) and non-200 answers (400)", async () => {
    const fetchImage = createRemoteImageFetcher({ ...options, allowAddress: loopbackAllowed });
    for (const path of ["/svg", "/html"]) {
      expect((await refusal(fetchImage(`${base}${path}`, PARAM))).code).toBe(
        "unsupported_media_type",
      );
    }
    const e = await refusal(fetchImage(`${base}/missing`, PARAM));
    expect(e.code).toBe("invalid_request_error");
    expect(e.details?.reason).toBe("status");
  });
});
