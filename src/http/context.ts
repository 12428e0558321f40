import type { Logger } from "../log/index.js";
import type { Principal } from "../tenants/index.js";

/** Hono's environment for Hallmark: what middleware puts on the context. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    principal: Principal;
    /** Set by the idempotency middleware: the generation id this key's request must use. */
    idempotency?: { generationId: string };
    /**
     * Set by the request gate: aborts when the client goes away, at the request's time limit and
     * at the shutdown deadline. Read it with `requestSignal(c)`.
     */
    signal?: AbortSignal;
    /**
     * Set by the image routes on a 200: the decision and each image's marks, for the metrics
     * middleware, which would otherwise have to read the answer back (megabytes of base64).
     */
    delivered?: Delivered;
  };
}

/** What an image route delivered, as its answer's `hallmark` section states it. */
export interface Delivered {
  action: string;
  categories: string[];
  /** Each image's `marks`, in order. */
  marks: unknown[][];
}
