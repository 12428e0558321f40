import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { HallmarkError } from "../errors/index.js";

/** Where webhooks may go. */
export interface WebhookUrlPolicy {
  /** Allow loopback, private, link-local and other non-public addresses, and plain http. */
  allowPrivate: boolean;
  /** Host names allowed (exact, or `.example.com` for subdomains); absent: any public host. */
  allowedHosts?: string[];
}

/** Longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * Addresses a webhook must not reach unless configured: the IANA special-purpose registries
 * (RFC 6890 and successors) for IPv4 and IPv6, i.e. everything that is not the public Internet.
 */
const NON_PUBLIC = (() => {
  const list = new BlockList();
  for (const [net, prefix] of [
    ["0.0.0.0", 8],
    ["10.0.0.0", 8],
    ["100.64.0.0", 10],
    ["127.0.0.0", 8],
    ["169.254.0.0", 16],
    ["172.16.0.0", 12],
    ["192.0.0.0", 24],
    ["192.0.2.0", 24],
    ["192.88.99.0", 24],
    ["192.168.0.0", 16],
    ["198.18.0.0", 15],
    ["198.51.100.0", 24],
    ["203.0.113.0", 24],
    ["224.0.0.0", 4],
    ["240.0.0.0", 4],
  ] as const) {
    list.addSubnet(net, prefix, "ipv4");
  }
  for (const [net, prefix] of [
    ["::", 128],
    ["::1", 128],
    ["64:ff9b::", 96],
    ["64:ff9b:1::", 48],
    ["100::", 64],
    ["2001::", 23],
    ["2001:db8::", 32],
    ["2002::", 16],
    ["fc00::", 7],
    ["fe80::", 10],
    ["ff00::", 8],
  ] as const) {
    list.addSubnet(net, prefix, "ipv6");
  }
  return list;
})();

/** True when `address` (an IP literal) is on the public Internet. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d, in any spelling) is judged as the IPv4 address it carries.
  if (family === 6) {
    const mapped = mappedIpv4(address);
    if (mapped) return isPublicAddress(mapped);
  }
  return !NON_PUBLIC.check(address, family === 4 ? "ipv4" : "ipv6");
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:0:0/96), or null. */
function mappedIpv4(address: string): string | null {
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split(".").map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") : [text, ""];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  if (groups.length !== 8) return null;
  const n = groups.map((g) => Number.parseInt(g || "0", 16));
  if (n.slice(0, 5).some((g) => g !== 0) || n[5] !== 0xffff) return null;
  return `${n[6]! >> 8}.${n[6]! & 255}.${n[7]! >> 8}.${n[7]! & 255}`;
}

function invalid(message: string): HallmarkError {
  return new HallmarkError("invalid_webhook_url", message, { param: "hallmark_webhook_url" });
}

/**
 * Checks a webhook URL's form and host: https (http only when private addresses are allowed),
 * no credentials, an allowed host. Returns the parsed URL. Addresses are checked separately,
 * at acceptance (`checkWebhookUrl`) and again when connecting (the resolved address), so a DNS
 * answer that changes in between cannot point a delivery inside the network.
 */
export function parseWebhookUrl(value: string, policy: WebhookUrlPolicy): URL {
  if (value.length > MAX_WEBHOOK_URL_LENGTH) {
    throw invalid(`The webhook URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters.`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid("The webhook URL is not a valid absolute URL.");
  }
  const schemes = policy.allowPrivate ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    throw invalid(`The webhook URL must use ${schemes.map((s) => s.slice(0, -1)).join(" or ")}.`);
  }
  if (url.username || url.password) throw invalid("The webhook URL must not carry credentials.");
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (policy.allowedHosts && policy.allowedHosts.length > 0) {
    const ok = policy.allowedHosts.some((h) => (h.startsWith(".") ? host.endsWith(h) : host === h));
    if (!ok) throw invalid("The webhook URL's host is not on the allowed list.");
  }
  return url;
}

/** Resolves a host and returns its addresses, refusing any that may not be reached. */
export async function allowedAddresses(
  host: string,
  policy: WebhookUrlPolicy,
): Promise<Array<{ address: string; family: number }>> {
  const bare = host.replace(/^\[|\]$/g, "");
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(bare)) {
    addresses = [{ address: bare, family: isIP(bare) }];
  } else {
    try {
      addresses = await lookup(bare, { all: true, verbatim: true });
    } catch {
      throw invalid(`The webhook host ${bare} does not resolve.`);
    }
  }
  if (!policy.allowPrivate) {
    const blocked = addresses.find((a) => !isPublicAddress(a.address));
    if (blocked) {
      throw invalid(
        "The webhook URL resolves to a private, loopback or reserved address, which is not allowed.",
      );
    }
  }
  return addresses;
}

/** Form and addresses: what a request's webhook URL must pass to be accepted. */
export async function checkWebhookUrl(value: string, policy: WebhookUrlPolicy): Promise<URL> {
  const url = parseWebhookUrl(value, policy);
  await allowedAddresses(url.hostname, policy);
  return url;
}
