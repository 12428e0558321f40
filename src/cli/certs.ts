import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { isHallmarkError } from "../errors/index.js";
import {
  type CredentialsReport,
  checkCredentials,
  type RemoteSignerConfig,
  type SigningAlg,
  writeDevCredentials,
} from "../provenance/c2pa/index.js";

/** What the certificate commands need from the CLI around them (from src/config). */
export interface CertsCliContext {
  /** Development credentials live in `<dataDir>/certs/`. */
  dataDir: string;
  /** Configured signing credentials, as for `loadCredentials`. */
  certFile?: string;
  keyFile?: string;
  chainFile?: string;
  alg?: SigningAlg;
  remote?: RemoteSignerConfig & { alg?: SigningAlg };
  /** Configured signer anchors: a PEM bundle file, and an optional trust-list file. */
  trustAnchorsFile?: string;
  trustListFile?: string;
  /** Configured TSA, with its own anchors (PEM bundle file). */
  tsa?: { url: string; trustAnchorsFile?: string };
  /** Line sink for results (default: stdout). */
  print?: (line: string) => void;
  /** Line sink for errors (default: stderr). */
  printError?: (line: string) => void;
}

interface CheckFlags {
  certFile?: string;
  keyFile?: string;
  chainFile?: string;
  trustAnchors?: string;
  trustList?: string;
  json?: boolean;
}

async function maybeRead(path: string | undefined): Promise<string | undefined> {
  return path ? readFile(path, "utf8") : undefined;
}

function describeReport(report: CredentialsReport): string[] {
  const lines: string[] = [];
  lines.push(report.ok ? "credentials: OK" : "credentials: NOT USABLE");
  if (report.source) lines.push(`source: ${report.source} (${report.alg})`);
  if (report.signer) {
    lines.push(`signer: ${report.signer.subject}`);
    lines.push(`issuer: ${report.signer.issuer}`);
    lines.push(`expires: ${report.signer.notAfter}`);
  }
  for (const p of report.problems) lines.push(`problem: ${p}`);
  for (const w of report.warnings) lines.push(`warning: ${w}`);
  lines.push(`signer trust anchors in force: ${report.anchors.length}`);
  for (const a of report.anchors) lines.push(`  [${a.source}] ${a.subject} sha256:${a.sha256}`);
  if (report.chainAnchor) lines.push(`signer chain leads to: ${report.chainAnchor.subject}`);
  if (report.tsaAnchors.length) {
    lines.push(`TSA trust anchors in force: ${report.tsaAnchors.length}`);
    for (const a of report.tsaAnchors) lines.push(`  [tsa] ${a.subject} sha256:${a.sha256}`);
  }
  return lines;
}

/**
 * Registers `certs dev` and `certs check`.
 *
 * `certs dev` (re)generates the development CA and signer in `<data dir>/certs/` (CA
 * certificate `dev-ca.pem`, keys mode 0600) and prints one JSON line; verifiers that trusted
 * the previous development CA must be given the new `dev-ca.pem`.
 * `certs check [--json]` explains what is wrong with the configured credentials and names the
 * trust anchors in force; it exits 1 when start-up would refuse the credentials.
 */
export function registerCertsCommands(program: Command, ctx: CertsCliContext): void {
  const print = ctx.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const printError = ctx.printError ?? ((line: string) => process.stderr.write(`${line}\n`));
  const group = program.command("certs").description("C2PA signing credentials");

  group
    .command("dev")
    .description("generate a development CA and signer certificate into <data dir>/certs/")
    .action(async () => {
      try {
        const { dir, ca, signer } = await writeDevCredentials(ctx.dataDir);
        print(
          JSON.stringify({
            dir,
            ca: {
              subject: ca.cert.subject,
              notAfter: ca.cert.notAfter.toISOString(),
              file: "dev-ca.pem",
            },
            signer: { subject: signer.cert.subject, notAfter: signer.cert.notAfter.toISOString() },
          }),
        );
      } catch (error) {
        printError(isHallmarkError(error) ? `${error.code}: ${error.message}` : String(error));
        process.exitCode = 1;
      }
    });

  group
    .command("check")
    .description("explain what is wrong with the configured credentials; name the anchors in force")
    .option("--cert-file <file>", "signer certificate (PEM), overrides the configuration")
    .option("--key-file <file>", "signer private key (PEM), overrides the configuration")
    .option("--chain-file <file>", "intermediate certificates (PEM)")
    .option("--trust-anchors <file>", "signer trust anchors (PEM bundle)")
    .option("--trust-list <file>", "further signer trust anchors (PEM trust list)")
    .option("--json", "print the report as JSON")
    .action(async (flags: CheckFlags) => {
      try {
        const report = await checkCredentials({
          dataDir: ctx.dataDir,
          certFile: flags.certFile ?? ctx.certFile,
          keyFile: flags.keyFile ?? ctx.keyFile,
          chainFile: flags.chainFile ?? ctx.chainFile,
          alg: ctx.alg,
          remote: flags.certFile ? undefined : ctx.remote,
          trustAnchorsPem: await maybeRead(flags.trustAnchors ?? ctx.trustAnchorsFile),
          trustListFile: flags.trustList ?? ctx.trustListFile,
          tsa: ctx.tsa
            ? { url: ctx.tsa.url, trustAnchorsPem: await maybeRead(ctx.tsa.trustAnchorsFile) }
            : undefined,
        });
        if (flags.json) print(JSON.stringify(report));
        else for (const line of describeReport(report)) print(line);
        if (!report.ok) process.exitCode = 1;
      } catch (error) {
        printError(isHallmarkError(error) ? `${error.code}: ${error.message}` : String(error));
        process.exitCode = 1;
      }
    });
}
