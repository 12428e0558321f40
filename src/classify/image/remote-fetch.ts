/**
 * Fetching a remote image for `POST /v1/moderations` (opt-in: HALLMARK_MODERATION_REMOTE_IMAGES),
 * with server-side request forgery protection. A caller-supplied URL makes the gateway open a
 * connection from inside the operator's network, so:
 *
 * - http and https only, no credentials in the URL, at most 2,048 characters;
 * - the host is resolved once and **every** address it resolves to must be public unicast
 *   (ipaddr.js's classification: private, loopback, link-local, carrier-grade NAT, multicast,
 *   unspecified, broadcast, reserved and documentation ranges, IPv4-mapped and other
 *   IPv4-embedding IPv6 forms, unique-local IPv6 are refused; cloud metadata endpoints live in
 *   link-local 169.254.169.254, unique-local fd00:ec2::254, CGNAT 100.100.100.200 or reserved
 *   192.0.0.192, all refused);
 * - the socket connects to the address that was checked (the `lookup` hook hands back exactly
 *   that address), so a DNS answer that changes between check and connect cannot move it;
 * - redirects are followed at most `maxRedirects` times, each target checked as above;
 * - one deadline covers resolution, every hop and the body; the body stops being read past
 *   `maxBytes` (a larger Content-Length is refused before reading);
 * - the answer must be 200 with an image Content-Type among the formats the data-URL path
 *   accepts (PNG, JPEG, WebP, GIF, AVIF, TIFF; not SVG, which can reference other resources).
 *
 * Every refusal is a 4xx `HallmarkError` naming the request parameter.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import { HallmarkError } from "../../errors/index.js";

/** Longest remote image URL accepted. */
export const MAX_REMOTE_IMAGE_URL_LENGTH = 2048;
/** Redirects followed by default (each re-checked). */
export const DEFAULT_REMOTE_IMAGE_REDIRECTS = 3;

const IMAGE_TYPES = new Set([
  "image/png",
  "image/jpeg",
  "image/jpg",
  "image/webp",
  "image/gif",
  "image/avif",
  "image/tiff",
]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** True for an IP literal on the public Internet (ipaddr.js range "unicast"); false otherwise. */
export function isPublicUnicastAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  // An IPv4-mapped IPv6 address has its own range name ("ipv4Mapped"), so it is refused here
  // whatever IPv4 address it carries, as are NAT64, 6to4 and Teredo forms.
  return ipaddr.parse(address).range() === "unicast";
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

export interface RemoteImageFetchOptions {
  /** Largest body read, bytes. */
  maxBytes: number;
  /** One deadline for resolution, redirects and the body, milliseconds. */
  timeoutMs: number;
  /** Redirects followed (each target re-checked); 0 refuses any redirect. Default 3. */
  maxRedirects?: number;
  /**
   * Which resolved addresses may be connected to. Default: public unicast only. Tests pass an
   * allowance for their loopback server here; nothing in the configuration can widen it.
   */
  allowAddress?: (address: string) => boolean;
  /** Resolves a host name to all its addresses. Default: the system resolver (dns.lookup). */
  resolve?: (host: string) => Promise<ResolvedAddress[]>;
  userAgent?: string;
}

/** Fetches the image at `url`; `param` names the request field in errors. */
export type RemoteImageFetcher = (url: string, param: string) => Promise<Uint8Array>;

type Reason =
  | "url"
  | "scheme"
  | "credentials"
  | "address"
  | "dns"
  | "redirect"
  | "status"
  | "timeout"
  | "connection";

function refused(message: string, param: string, reason: Reason): HallmarkError {
  return new HallmarkError("invalid_request_error", message, { param, details: { reason } });
}

function parseRemoteUrl(value: string, param: string): URL {
  if (value.length > MAX_REMOTE_IMAGE_URL_LENGTH) {
    throw refused(
      `remote image URLs are limited to ${MAX_REMOTE_IMAGE_URL_LENGTH} characters`,
      param,
      "url",
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refused("image_url.url is not a valid absolute URL", param, "url");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw refused("remote image URLs must use http or https", param, "scheme");
  }
  if (url.username || url.password) {
    throw refused("remote image URLs must not carry credentials", param, "credentials");
  }
  return url;
}

const systemResolve = (host: string): Promise<ResolvedAddress[]> =>
  dnsLookup(host, { all: true, verbatim: true });

/** Races `p` against the deadline's abort signal. */
function beforeDeadline<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * @example
 * const fetchImage = createRemoteImageFetcher({ maxBytes: 16 << 20, timeoutMs: 5_000 });
 * const bytes = await fetchImage("https://example.com/a.png", "input[0].image_url.url");
 */
export function createRemoteImageFetcher(options: RemoteImageFetchOptions): RemoteImageFetcher {
  const allow = options.allowAddress ?? isPublicUnicastAddress;
  const resolve = options.resolve ?? systemResolve;
  const maxRedirects = options.maxRedirects ?? DEFAULT_REMOTE_IMAGE_REDIRECTS;

  /** Resolves `host` and returns the address to connect to, refusing if any is not allowed. */
  async function checkedAddress(
    host: string,
    param: string,
    signal: AbortSignal,
  ): Promise<ResolvedAddress> {
    const bare = host.replace(/^\[|\]$/g, "");
    let addresses: ResolvedAddress[];
    if (isIP(bare)) {
      addresses = [{ address: bare, family: isIP(bare) }];
    } else {
      try {
        addresses = await beforeDeadline(resolve(bare), signal);
      } catch (error) {
        if (signal.aborted) throw error;
        throw refused(`the image host ${bare} does not resolve`, param, "dns");
      }
    }
    if (addresses.length === 0) {
      throw refused(`the image host ${bare} does not resolve`, param, "dns");
    }
    // Every address, not just the first: a name with one public and one private address would
    // otherwise let the connection land on whichever the socket picks.
    if (addresses.some((a) => !allow(a.address))) {
      throw refused(
        "the image URL's host is a private, loopback, link-local or reserved address, which is not fetched",
        param,
        "address",
      );
    }
    return addresses[0]!;
  }

  function get(url: URL, target: ResolvedAddress, signal: AbortSignal) {
    // The socket connects to the checked address whatever a second DNS answer would say.
    const lookup: LookupFunction = (_host, opts, callback) => {
      if ((opts as { all?: boolean }).all) {
        (callback as (e: null, a: ResolvedAddress[]) => void)(null, [target]);
      } else {
        callback(null, target.address, target.family);
      }
    };
    const client = url.protocol === "https:" ? https : http;
    return new Promise<http.IncomingMessage>((resolveResponse, reject) => {
      const req = client.request(
        {
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[|\]$/g, ""),
          port: url.port || undefined,
          path: `${url.pathname}${url.search}`,
          method: "GET",
          headers: {
            accept: [...IMAGE_TYPES].join(", "),
            "user-agent": options.userAgent ?? "hallmark-moderation",
          },
          lookup,
          agent: false,
          signal,
        },
        resolveResponse,
      );
      req.on("error", reject);
      req.end();
    });
  }

  async function readBody(res: http.IncomingMessage, param: string, url: URL): Promise<Uint8Array> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > options.maxBytes) {
        res.destroy();
        throw tooLarge(param, url);
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks, total);
    if (body.length === 0) {
      throw refused("the remote image is empty", param, "status");
    }
    return new Uint8Array(body.buffer, body.byteOffset, body.length);
  }

  function tooLarge(param: string, url: URL): HallmarkError {
    return new HallmarkError(
      "payload_too_large",
      `the remote image is larger than ${options.maxBytes} bytes`,
      { param, details: { reason: "size", host: url.hostname, maxBytes: options.maxBytes } },
    );
  }

  return async (value, param) => {
    let url = parseRemoteUrl(value, param);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error("remote image deadline")),
      options.timeoutMs,
    );
    const signal = controller.signal;
    let res: http.IncomingMessage | undefined;
    try {
      for (let hop = 0; ; hop++) {
        const target = await checkedAddress(url.hostname, param, signal);
        try {
          res = await get(url, target, signal);
        } catch (error) {
          if (signal.aborted) throw error;
          throw refused(`the image host could not be reached`, param, "connection");
        }
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          res.destroy();
          const location = res.headers.location;
          if (hop >= maxRedirects) {
            throw refused(
              `the image URL redirected more than ${maxRedirects} times`,
              param,
              "redirect",
            );
          }
          if (!location) throw refused("the image URL redirected nowhere", param, "redirect");
          let next: string;
          try {
            next = new URL(location, url).href;
          } catch {
            throw refused("the image URL redirected to an invalid URL", param, "redirect");
          }
          url = parseRemoteUrl(next, param);
          continue;
        }
        if (status !== 200) {
          res.destroy();
          throw refused(`the image host answered ${status}`, param, "status");
        }
        const type = (res.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
        if (!IMAGE_TYPES.has(type)) {
          res.destroy();
          throw new HallmarkError(
            "unsupported_media_type",
            `the remote resource is ${type === "" ? "untyped" : type}, not a PNG, JPEG, WebP, GIF, AVIF or TIFF image`,
            { param, details: { reason: "content-type", contentType: type } },
          );
        }
        const length = Number(res.headers["content-length"]);
        if (Number.isFinite(length) && length > options.maxBytes) {
          res.destroy();
          throw tooLarge(param, url);
        }
        return await readBody(res, param, url);
      }
    } catch (error) {
      res?.destroy();
      if (signal.aborted && !(error instanceof HallmarkError)) {
        throw refused(
          `the remote image did not arrive within ${options.timeoutMs} ms`,
          param,
          "timeout",
        );
      }
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
}
