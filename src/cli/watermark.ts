import { readFile, writeFile } from "node:fs/promises";
import type { Command } from "commander";
import { HallmarkError, isHallmarkError } from "../errors/index.js";
import {
  createWatermarker,
  decodeImage,
  decodePayloadHex,
  encodeImage,
  formatForPath,
  loadWatermarkKey,
  type Watermarker,
} from "../provenance/watermark/index.js";

/** What the watermark commands need from the CLI around them. */
export interface WatermarkCliContext {
  /** Where `watermark.key` lives when no --key-file is given (created on first use). */
  dataDir: string;
  /** Line sink for results (default: stdout). */
  print?: (line: string) => void;
  /** Line sink for errors (default: stderr). */
  printError?: (line: string) => void;
}

async function watermarker(ctx: WatermarkCliContext, keyFile?: string): Promise<Watermarker> {
  const key = await loadWatermarkKey({ dataDir: ctx.dataDir, ...(keyFile ? { keyFile } : {}) });
  return createWatermarker({ key });
}

function errorBody(error: unknown): { code: string; message: string } {
  return isHallmarkError(error)
    ? { code: error.code, message: error.message }
    : { code: "internal_error", message: error instanceof Error ? error.message : String(error) };
}

/**
 * Registers `watermark embed` and `watermark detect`.
 *
 * `watermark embed --in A --out B --payload HEX [--key-file K]` marks A into B (format from
 * B's extension) and prints one JSON line. `watermark detect [--key-file K] [--json] FILE...`
 * prints one line per file, in order: with --json `{file, detected, payload, confidence,
 * transform}`. Detect exits 0 whether or not a mark is found, non-zero only when a file could
 * not be read or decoded (its line then carries `error`).
 */
export function registerWatermarkCommands(program: Command, ctx: WatermarkCliContext): void {
  const print = ctx.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = ctx.printError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const group = program.command("watermark").description("embed or detect the invisible watermark");

  group
    .command("embed")
    .description("mark an image with a 64-bit payload (16 hex digits: issuer key id, mark id)")
    .requiredOption("--in <file>", "input image")
    .requiredOption("--out <file>", "output image (.png, .jpg, .webp, .tif, .avif)")
    .requiredOption("--payload <hex>", "16 hex digits")
    .option("--key-file <file>", "watermark key file (default: <data dir>/watermark.key)")
    .action(async (opts: { in: string; out: string; payload: string; keyFile?: string }) => {
      try {
        const payload = decodePayloadHex(opts.payload);
        const format = formatForPath(opts.out);
        if (!format) {
          throw new HallmarkError("invalid_request_error", "unknown output extension", {
            param: "out",
          });
        }
        const wm = await watermarker(ctx, opts.keyFile);
        const image = await decodeImage(await readFile(opts.in));
        const result = wm.embed(image, payload);
        if (!result.applied) {
          print(JSON.stringify({ file: opts.in, applied: false, reason: result.reason }));
          printError(`not marked: ${result.message}`);
          process.exitCode = 1;
          return;
        }
        await writeFile(opts.out, await encodeImage(result.image, format));
        const psnr = Number.isFinite(result.psnr) ? Math.round(result.psnr * 100) / 100 : null;
        print(
          JSON.stringify({
            file: opts.in,
            out: opts.out,
            applied: true,
            payload: opts.payload.toLowerCase(),
            psnr,
          }),
        );
      } catch (error) {
        printError(`watermark embed: ${errorBody(error).message}`);
        process.exitCode = 1;
      }
    });

  group
    .command("detect")
    .description("look for the mark in each file; one line per file")
    .argument("<files...>", "images to examine")
    .option("--key-file <file>", "watermark key file (default: <data dir>/watermark.key)")
    .option("--json", "print one JSON object per line")
    .action(async (files: string[], opts: { keyFile?: string; json?: boolean }) => {
      let wm: Watermarker;
      try {
        wm = await watermarker(ctx, opts.keyFile);
      } catch (error) {
        printError(`watermark detect: ${errorBody(error).message}`);
        process.exitCode = 1;
        return;
      }
      for (const file of files) {
        try {
          const result = wm.detect(await decodeImage(await readFile(file)));
          const line = {
            file,
            detected: result.detected,
            ...(result.detected ? { payload: result.payloadHex } : {}),
            confidence: Math.round(result.confidence * 1e6) / 1e6,
            transform: result.transform ?? null,
            ...(result.others ? { others: result.others.map((m) => m.payloadHex) } : {}),
          };
          print(
            opts.json
              ? JSON.stringify(line)
              : `${file}: ${result.detected ? `mark ${result.payloadHex}` : "no mark"} (confidence ${line.confidence})`,
          );
        } catch (error) {
          const body = errorBody(error);
          print(
            opts.json ? JSON.stringify({ file, error: body }) : `${file}: error: ${body.message}`,
          );
          process.exitCode = 1;
        }
      }
    });
}
