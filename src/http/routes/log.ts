import type { OpenAPIHono } from "@hono/zod-openapi";
import {
  getConsistencyProof,
  getEntries,
  getInclusionProof,
  latestCheckpoint,
} from "../../audit/log/index.js";
import { type Db, withDatabase } from "../../db/index.js";
import { HallmarkError } from "../../errors/index.js";
import type { AppEnv } from "../context.js";

/**
 * The transparency-log endpoints an auditor uses with standard tools (docs/audit-log.md):
 * the latest signed checkpoint (C2SP tlog-checkpoint as a signed note), inclusion and consistency
 * proofs (RFC 9162 §2.1.3–2.1.4), and entries (the envelopes exactly as hashed; payloads are
 * not public). All are hashes and envelopes only, so they are served without a key.
 */
export function registerLog(app: OpenAPIHono<AppEnv>, deps: { db: Db }): void {
  app.get("/v1/log/checkpoint", async (c) => {
    const checkpoint = await withDatabase(() => latestCheckpoint(deps.db));
    if (!checkpoint) throw new HallmarkError("not_found", "No checkpoint has been signed yet.");
    if ((c.req.header("accept") ?? "").includes("text/plain")) return c.text(checkpoint.note);
    return c.json(checkpoint);
  });
  app.get("/v1/log/proof/inclusion", async (c) =>
    c.json(
      await withDatabase(() =>
        getInclusionProof(deps.db, c.req.query("index"), c.req.query("size")),
      ),
    ),
  );
  app.get("/v1/log/proof/consistency", async (c) =>
    c.json(
      await withDatabase(() =>
        getConsistencyProof(deps.db, c.req.query("first"), c.req.query("second")),
      ),
    ),
  );
  app.get("/v1/log/entries", async (c) =>
    c.json(await withDatabase(() => getEntries(deps.db, c.req.query("start"), c.req.query("end")))),
  );
}
