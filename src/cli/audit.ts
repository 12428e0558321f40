import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import {
  type AuditVerifyReport,
  loadLogKey,
  signCheckpointNow,
  tombstone,
  verifyDatabaseLog,
  verifyOverHttp,
} from "../audit/log/index.js";
import { createNoteVerifier, type NoteVerifier, toHex } from "../audit/tlog/index.js";
import type { Database } from "../db/index.js";
import { HallmarkError, isHallmarkError } from "../errors/index.js";

/** What the audit commands need from the CLI around them (from src/config). */
export interface AuditCliContext {
  /** Opens the (migrated) database; the command closes it. */
  openDatabase: () => Promise<Database>;
  /** The checkpoint key lives at `<dataDir>/audit-log.key` unless `keyFile` is given. */
  dataDir: string;
  keyFile?: string;
  /** The log's origin, e.g. `gateway.example.com/hallmark/audit`. */
  origin: string;
  /** The fetch for `verify --url` (default the global one). */
  fetch?: typeof globalThis.fetch;
  /** Line sink for results (default: stdout). */
  print?: (line: string) => void;
  /** Line sink for errors (default: stderr). */
  printError?: (line: string) => void;
}

interface VerifyFlags {
  url?: string;
  vkey?: string[];
  origin?: string;
  checkpoint?: string[];
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function describeReport(report: AuditVerifyReport): string[] {
  const checkpoints = report.checkpoints.length;
  if (report.ok) {
    return [
      `audit log: OK (${report.size} entries, ${checkpoints} checkpoints, verified up to ${report.verifiedSize})`,
      ...(report.verifiedSize < report.size
        ? [`entries ${report.verifiedSize}..${report.size - 1} are not under a checkpoint yet`]
        : []),
    ];
  }
  const where =
    report.firstBadEntry === null
      ? "no entry named"
      : report.firstBadEntryExact
        ? `first bad entry: ${report.firstBadEntry}`
        : `first bad entry: at or after ${report.firstBadEntry}`;
  return [
    `audit log: FAILED (${report.size} entries, ${checkpoints} checkpoints, verified up to ${report.verifiedSize}); ${where}`,
    ...report.problems.map((p) => `  ${p.kind}: ${p.message}`),
  ];
}

function reportJson(report: AuditVerifyReport): string {
  return JSON.stringify({
    ...report,
    rootHash: toHex(report.rootHash),
    checkpoints: report.checkpoints.map(({ checkpoint, ...rest }) => ({
      ...rest,
      ...(checkpoint ? { size: checkpoint.size, rootHash: toHex(checkpoint.rootHash) } : {}),
    })),
  });
}

async function withDatabase<T>(
  ctx: AuditCliContext,
  work: (database: Database) => Promise<T>,
): Promise<T> {
  const database = await ctx.openDatabase();
  try {
    return await work(database);
  } finally {
    await database.close();
  }
}

/**
 * Registers the `audit` commands:
 * - `audit verify [--url URL] [--vkey KEY]... [--origin O] [--checkpoint FILE]... [--json]`:
 *   recomputes the log from the database (or over HTTP from a gateway at URL) and checks every
 *   checkpoint; prints OK or the first bad entry and the problems; exits 1 on failure. The
 *   verifier keys default to the local checkpoint key's; an auditor passes the published one.
 * - `audit checkpoint`: signs a checkpoint of the log now and prints the note.
 * - `audit keygen`: creates the checkpoint key if missing and prints the verifier key (never
 *   the secret).
 * - `audit tombstone INDEX --reason TEXT`: retention; removes entry INDEX's payload and appends
 *   a tombstone entry (docs/audit-log.md §8).
 */
export function registerAuditCommands(program: Command, ctx: AuditCliContext): void {
  const print = ctx.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = ctx.printError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const fail = (error: unknown) => {
    printError(
      isHallmarkError(error)
        ? `${error.code}: ${error.message}`
        : `error: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exitCode = 1;
  };
  const keyOptions = {
    dataDir: ctx.dataDir,
    origin: ctx.origin,
    ...(ctx.keyFile ? { keyFile: ctx.keyFile } : {}),
  };
  const group = program.command("audit").description("the tamper-evident audit log");

  group
    .command("verify")
    .description("recompute the log and check every checkpoint; exit 1 on any problem")
    .option("--url <url>", "verify a gateway over HTTP instead of the database")
    .option(
      "--vkey <key>",
      "a verifier key of the log (repeatable; default: the local key's)",
      collect,
    )
    .option("--origin <origin>", "the log's origin (default: the verifier key's name)")
    .option(
      "--checkpoint <file>",
      "a signed checkpoint kept earlier, to check too (repeatable)",
      collect,
    )
    .option("--json", "print the report as JSON")
    .action(async (flags: VerifyFlags) => {
      try {
        let verifiers: NoteVerifier[];
        if (flags.vkey && flags.vkey.length > 0) {
          verifiers = flags.vkey.map(createNoteVerifier);
        } else {
          verifiers = [
            (await loadLogKey({ ...keyOptions, origin: flags.origin ?? ctx.origin, create: false }))
              .verifier,
          ];
        }
        const origin = flags.origin ?? verifiers[0]!.name;
        const checkpoints = await Promise.all(
          (flags.checkpoint ?? []).map((f) => readFile(f, "utf8")),
        );
        const report = flags.url
          ? await verifyOverHttp({
              url: flags.url,
              verifiers,
              origin,
              checkpoints,
              ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
            })
          : await withDatabase(ctx, ({ db }) =>
              verifyDatabaseLog(db, { verifiers, origin, checkpoints }),
            );
        if (flags.json) print(reportJson(report));
        else for (const line of describeReport(report)) print(line);
        if (!report.ok) process.exitCode = 1;
      } catch (error) {
        fail(error);
      }
    });

  group
    .command("checkpoint")
    .description("sign a checkpoint of the log now and print it")
    .action(async () => {
      try {
        const key = await loadLogKey(keyOptions);
        const record = await withDatabase(ctx, ({ db }) =>
          signCheckpointNow({ db, ...key, origin: ctx.origin }),
        );
        if (record === null)
          throw new HallmarkError("internal_error", "another process is signing; try again");
        print(record.note.trimEnd());
      } catch (error) {
        fail(error);
      }
    });

  group
    .command("keygen")
    .description("create the checkpoint key if missing; print the verifier key to publish")
    .action(async () => {
      try {
        const key = await loadLogKey(keyOptions);
        print(JSON.stringify({ vkey: key.vkey, file: key.file, created: key.created }));
      } catch (error) {
        fail(error);
      }
    });

  group
    .command("tombstone")
    .description("retention: remove an entry's payload, leaving a tombstone entry")
    .argument("<index>", "the log index whose payload to remove")
    .requiredOption("--reason <text>", "why (kept in the log forever: no personal data)")
    .action(async (index: string, flags: { reason: string }) => {
      try {
        const n = Number(index);
        if (!/^(?:0|[1-9][0-9]*)$/.test(index) || !Number.isSafeInteger(n)) {
          throw new HallmarkError("invalid_request_error", "index must be a log index", {
            param: "index",
          });
        }
        const result = await withDatabase(ctx, ({ db }) => tombstone(db, n, flags.reason));
        print(JSON.stringify(result));
      } catch (error) {
        fail(error);
      }
    });
}
