import { describe, expect, it } from "vitest";
import { loadConfig } from "./load.js";

describe("loadConfig", () => {
  it("gives the documented defaults on an empty environment", () => {
    const c = loadConfig({});
    expect(c.host).toBe("127.0.0.1");
    expect(c.port).toBe(8080);
    expect(c.dataDir.endsWith("/data")).toBe(true);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.limits.maxPromptChars).toBe(4000);
    expect(c.limits.maxBodyBytes).toBe(20 * 1024 * 1024);
    expect(c.limits.maxImages).toBe(4);
    expect(c.limits.defaultSize).toBe("512x512");
    expect(c.backend.kind).toBe("embedded");
  });

  it("needs HALLMARK_ONNX_SD_DIR for the onnx-sd backend", () => {
    expect(() => loadConfig({ HALLMARK_BACKEND: "onnx-sd" })).toThrow(/HALLMARK_ONNX_SD_DIR/);
    const c = loadConfig({ HALLMARK_BACKEND: "onnx-sd", HALLMARK_ONNX_SD_DIR: "sd15" });
    expect(c.backend).toMatchObject({
      kind: "onnx-sd",
      steps: 25,
      guidanceScale: 7.5,
      provider: "auto",
    });
    expect(() => loadConfig({ HALLMARK_ONNX_SD_SAMPLER: "heun" })).toThrow(
      /HALLMARK_ONNX_SD_SAMPLER/,
    );
  });

  it("reads values and ignores unrelated variables", () => {
    const c = loadConfig({ HALLMARK_PORT: "9001", PATH: "/bin", HALLMARK_MAX_IMAGES: "2" });
    expect(c.port).toBe(9001);
    expect(c.limits.maxImages).toBe(2);
  });

  it.each([
    ["HALLMARK_PORT", "eighty"],
    ["HALLMARK_PORT", "70000"],
    ["DATABASE_URL", "mysql://x"],
    ["HALLMARK_MAX_PROMPT_CHARS", "-1"],
    ["HALLMARK_SIZES", "512by512"],
    ["HALLMARK_LOG_LEVEL", "loud"],
  ])("names the variable when %s=%s is invalid", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it("reads the wrong-key allowance per address: 30 a minute by default, 0 for none", () => {
    expect(loadConfig({}).authFailuresPerMinute).toBe(30);
    expect(loadConfig({ HALLMARK_AUTH_FAILURES_PER_MINUTE: "0" }).authFailuresPerMinute).toBe(0);
    for (const bad of ["-1", "2.5", "many"]) {
      expect(() => loadConfig({ HALLMARK_AUTH_FAILURES_PER_MINUTE: bad })).toThrow(
        "HALLMARK_AUTH_FAILURES_PER_MINUTE",
      );
    }
  });

  it("reads the OCR turned passes: two diagonal ones by default, a list, or off", () => {
    expect(loadConfig({}).ocr.turnedPasses).toEqual([
      { side: 640, degrees: 30 },
      { side: 640, degrees: -30 },
    ]);
    expect(loadConfig({ HALLMARK_OCR_TURNED_PASSES: "off" }).ocr.turnedPasses).toEqual([]);
    expect(
      loadConfig({ HALLMARK_OCR_TURNED_PASSES: " 480:45 , 960:-20" }).ocr.turnedPasses,
    ).toEqual([
      { side: 480, degrees: 45 },
      { side: 960, degrees: -20 },
    ]);
    expect(loadConfig({}).ocr.turnedPassGate).toBe(0.1);
    expect(loadConfig({ HALLMARK_OCR_TURNED_PASS_GATE: "0" }).ocr.turnedPassGate).toBe(0);
    expect(loadConfig({}).ocr.detectionSide).toBe(960);
    expect(loadConfig({ HALLMARK_OCR_DETECTION_SIDE: "736" }).ocr.detectionSide).toBe(736);
    for (const bad of ["319", "1921", "736.5", "x"]) {
      expect(() => loadConfig({ HALLMARK_OCR_DETECTION_SIDE: bad })).toThrow(
        "HALLMARK_OCR_DETECTION_SIDE",
      );
    }
    expect(loadConfig({}).ocr.detectorPrecision).toBe("float");
    expect(loadConfig({ HALLMARK_OCR_DETECTOR_PRECISION: "int8" }).ocr.detectorPrecision).toBe(
      "int8",
    );
    for (const bad of ["int4", "INT8", "fp16"]) {
      expect(() => loadConfig({ HALLMARK_OCR_DETECTOR_PRECISION: bad })).toThrow(
        "HALLMARK_OCR_DETECTOR_PRECISION",
      );
    }
    expect(loadConfig({}).screeningLayout).toBe("shared");
    expect(loadConfig({ HALLMARK_SCREENING_LAYOUT: "per-thread" }).screeningLayout).toBe(
      "per-thread",
    );
    expect(() => loadConfig({ HALLMARK_SCREENING_LAYOUT: "lanes" })).toThrow(
      "HALLMARK_SCREENING_LAYOUT",
    );
    expect(loadConfig({}).malloc).toEqual({ setting: "compact", glibcTunables: null });
    expect(
      loadConfig({
        HALLMARK_MALLOC: "system",
        GLIBC_TUNABLES: "glibc.cpu.x86_ibt=on:glibc.malloc.arena_max=4",
      }).malloc,
    ).toEqual({ setting: "system", glibcTunables: "glibc.malloc.arena_max=4" });
    expect(() => loadConfig({ HALLMARK_MALLOC: "jemalloc" })).toThrow("HALLMARK_MALLOC");
    expect(loadConfig({}).ocr.wideThreads).toBe(2);
    expect(loadConfig({ HALLMARK_OCR_WIDE_THREADS: "1" }).ocr.wideThreads).toBe(1);
    for (const bad of ["0", "1.5", "65", "two"]) {
      expect(() => loadConfig({ HALLMARK_OCR_WIDE_THREADS: bad })).toThrow(
        "HALLMARK_OCR_WIDE_THREADS",
      );
    }
    for (const bad of ["-0.1", "1.5", "x"]) {
      expect(() => loadConfig({ HALLMARK_OCR_TURNED_PASS_GATE: bad })).toThrow(
        "HALLMARK_OCR_TURNED_PASS_GATE",
      );
    }
    for (const bad of ["640", "640:0", "640:90", "64:30", "5000:30", "a:b", "640:30,".repeat(5)]) {
      expect(() => loadConfig({ HALLMARK_OCR_TURNED_PASSES: bad })).toThrow(
        "HALLMARK_OCR_TURNED_PASSES",
      );
    }
  });

  it("refuses a size larger than the pixel limit, naming both variables", () => {
    expect(() =>
      loadConfig({ HALLMARK_SIZES: "2048x2048", HALLMARK_DEFAULT_SIZE: "2048x2048" }),
    ).toThrow(/HALLMARK_SIZES.*HALLMARK_MAX_PIXELS/);
  });

  it("refuses a quota hold no longer than the request time-out, naming both variables", () => {
    expect(() => loadConfig({ HALLMARK_QUOTA_HOLD_SECONDS: "180" })).toThrow(
      /HALLMARK_QUOTA_HOLD_SECONDS.*HALLMARK_REQUEST_TIMEOUT_MS = 180000/,
    );
    expect(
      loadConfig({ HALLMARK_QUOTA_HOLD_SECONDS: "60", HALLMARK_REQUEST_TIMEOUT_MS: "30000" })
        .rateLimits.quotaHoldMs,
    ).toBe(60_000);
    expect(loadConfig({}).rateLimits.quotaHoldMs).toBe(900_000);
  });

  it("requires the upstream URL for the automatic1111 backend", () => {
    expect(() => loadConfig({ HALLMARK_BACKEND: "automatic1111" })).toThrow("HALLMARK_A1111_URL");
  });
});
