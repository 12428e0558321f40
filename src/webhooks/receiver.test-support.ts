import http from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
}

export interface WebhookReceiver {
  url: string;
  /** Every delivery received, in order. */
  got: ReceivedWebhook[];
  /** The first delivery whose body contains `text`, waited for up to `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

/** A webhook receiver on loopback (a real HTTP peer) that keeps every delivery. */
export async function startReceiver(status = 204): Promise<WebhookReceiver> {
  const got: ReceivedWebhook[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      got.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    got,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    async waitFor(text, timeoutMs = 60_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const found = got.find((g) => g.body.includes(text));
        if (found) return found;
        if (Date.now() > until) throw new Error(`no webhook delivery mentioning ${text}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
