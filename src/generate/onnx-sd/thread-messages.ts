/** The messages between the sampling thread (sampling-thread.ts) and its owner (on-thread.ts). */
import type { ErrorCode } from "../../errors/index.js";
import type { LoadOptions, SdImage, SdRequest } from "./pipeline.js";
import type { SchedulerConfig } from "./schedulers.js";

export interface ThreadInit {
  dir: string;
  options: LoadOptions;
}

/** The model's description, as the thread loaded it (plain data: it crosses threads). */
export interface ThreadModelInfo {
  scheduler: SchedulerConfig;
  latentChannels: number;
  vaeScaleFactor: number;
  scalingFactor: number;
  nativeSize: number | null;
  executionProvider: "cuda" | "cpu";
  canImg2Img: boolean;
}

/** An error as data (errors lose their class in transit); `code` set for a HallmarkError. */
export interface ThreadError {
  code: ErrorCode | null;
  message: string;
  param: string | null;
}

export type ToThread =
  | {
      type: "run";
      id: number;
      request: Omit<SdRequest, "onStep">;
      /** Element 0 becomes non-zero when the run is cancelled; read between denoising steps. */
      cancel: Int32Array;
      progress: boolean;
    }
  | { type: "close" };

export type FromThread =
  | { type: "ready"; info: ThreadModelInfo }
  | { type: "failed"; error: ThreadError }
  | { type: "progress"; id: number; done: number; total: number }
  | { type: "done"; id: number; images: SdImage[] }
  | { type: "error"; id: number; error: ThreadError }
  | { type: "cancelled"; id: number }
  | { type: "closed" };
