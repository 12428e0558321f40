import type { Command } from "commander";
import type { Database } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import {
  createReviewer,
  listReviewers,
  parseTenantList,
  REVIEWER_ROLES,
  setReviewerDisabled,
  setReviewerPassword,
  setReviewerTenants,
} from "../review/index.js";
import { generatePassword } from "../review/password.js";

/** What the reviewer commands need from the CLI around them. */
export interface ReviewerCliContext {
  /** Opens the (migrated) database; the command closes it. */
  openDatabase: () => Promise<Database>;
  /** Line sink for results (default: stdout). */
  print?: (line: string) => void;
  /** The password source (default: stdin, prompted without echo on a terminal). */
  readPassword?: (options: { stdin: boolean }) => Promise<string>;
}

/** Reads all of stdin and returns its first line (a password piped in or from a file). */
async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
}

/** Prompts on the terminal with echo off (raw mode); Ctrl-C aborts. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let value = "";
    stdin.setRawMode(true);
    stdin.resume();
    const done = (error?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new HallmarkError("invalid_request_error", "Aborted."));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

async function defaultReadPassword({ stdin }: { stdin: boolean }): Promise<string> {
  if (stdin) return readStdinLine();
  if (!process.stdin.isTTY)
    throw new HallmarkError(
      "invalid_request_error",
      "No terminal to prompt on: pass --password-stdin (and pipe the password) or --generate.",
    );
  const first = await promptHidden("Password: ");
  const again = await promptHidden("Repeat it: ");
  if (first !== again)
    throw new HallmarkError("invalid_request_error", "The passwords do not match.");
  return first;
}

/**
 * `hallmark reviewer create | reset-password | set-tenants | list | disable | enable`: accounts
 * of the review workspace (docs/review.md). Passwords are read from stdin, prompted without
 * echo, or generated and printed once as the last line; only their scrypt hash is stored.
 */
export function registerReviewerCommands(program: Command, ctx: ReviewerCliContext): void {
  const print = ctx.print ?? ((line: string) => console.log(line));
  const readPassword = ctx.readPassword ?? defaultReadPassword;
  const withDb = async <T>(fn: (database: Database) => Promise<T>): Promise<T> => {
    const database = await ctx.openDatabase();
    try {
      return await fn(database);
    } finally {
      await database.close();
    }
  };
  /** A new password: generated, the first line of stdin, or prompted twice without echo. */
  const obtainPassword = async (opts: { passwordStdin?: boolean; generate?: boolean }) => {
    if (opts.generate && opts.passwordStdin)
      throw new HallmarkError(
        "invalid_request_error",
        "Choose one of --generate and --password-stdin.",
      );
    return opts.generate
      ? generatePassword()
      : await readPassword({ stdin: opts.passwordStdin === true });
  };
  const reviewer = program
    .command("reviewer")
    .description("manage the review workspace's accounts (passwords stored as scrypt hashes)");

  reviewer
    .command("create <username>")
    .description(
      "create an account; the password is prompted without echo, read from stdin, or generated",
    )
    .option("--role <role>", `${REVIEWER_ROLES.join(" or ")}`, "reviewer")
    .option("--tenants <names>", "comma-separated tenants a reviewer sees (default: every tenant)")
    .option("--password-stdin", "read the password from the first line of stdin")
    .option("--generate", "generate a password and print it once, as the last line")
    .action(
      async (
        username: string,
        opts: { role: string; tenants?: string; passwordStdin?: boolean; generate?: boolean },
      ) => {
        const password = await obtainPassword(opts);
        const tenants = opts.tenants === undefined ? null : parseTenantList(opts.tenants);
        const info = await withDb(({ db }) =>
          createReviewer(db, { username, role: opts.role, password, tenants }),
        );
        if (opts.generate) {
          print(`created ${info.role} ${info.username}; the password is shown only now:`);
          print(password);
        } else {
          print(`created ${info.role} ${info.username}`);
        }
      },
    );

  reviewer
    .command("list")
    .description("list accounts (never a password or its hash)")
    .action(() =>
      withDb(async ({ db }) => {
        for (const r of await listReviewers(db)) {
          const state = r.disabledAt ? `disabled ${r.disabledAt.toISOString()}` : "active";
          print(
            `${r.username}\t${r.role}\t${state}\ttenants ${r.tenants?.join(",") ?? "all"}\tlast login ${r.lastLoginAt?.toISOString() ?? "never"}`,
          );
        }
      }),
    );

  reviewer
    .command("reset-password <username>")
    .description(
      "set a new password (prompted, read from stdin, or generated) and end the account's sessions",
    )
    .option("--password-stdin", "read the password from the first line of stdin")
    .option("--generate", "generate a password and print it once, as the last line")
    .action(async (username: string, opts: { passwordStdin?: boolean; generate?: boolean }) => {
      const password = await obtainPassword(opts);
      const info = await withDb(({ db }) => setReviewerPassword(db, username, password));
      if (opts.generate) {
        print(`new password for ${info.username}; its sessions ended; shown only now:`);
        print(password);
      } else {
        print(`new password for ${info.username}; its sessions ended`);
      }
    });

  reviewer
    .command("set-tenants <username> <names>")
    .description(
      "set the tenants a reviewer account sees: comma-separated names, or `all` for every tenant",
    )
    .action((username: string, names: string) =>
      withDb(async ({ db }) => {
        const info = await setReviewerTenants(db, username, parseTenantList(names));
        print(`${info.username} sees ${info.tenants?.join(", ") ?? "every tenant"}`);
      }),
    );

  for (const [name, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    reviewer
      .command(`${name} <username>`)
      .description(
        disabled
          ? "disable an account: it cannot log in and its open sessions end at once"
          : "enable a disabled account again",
      )
      .action((username: string) =>
        withDb(async ({ db }) => {
          const info = await setReviewerDisabled(db, username, disabled);
          print(`${info.username} ${disabled ? "disabled" : "enabled"}`);
        }),
      );
  }
}
