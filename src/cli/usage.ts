import type { Command } from "commander";
import type { Database } from "../db/index.js";
import { HallmarkError } from "../errors/index.js";
import {
  type EffectiveLimits,
  effectiveLimits,
  listTenantLimits,
  queryUsage,
  setTenantLimits,
  type TenantLimitOverrides,
  usageCsv,
  usageRange,
} from "../limits/index.js";
import { listTenants } from "../tenants/index.js";

/** What the usage and limits commands need from the CLI around them (from src/config). */
export interface UsageCliContext {
  /** Opens the (migrated) database; the command closes it. */
  openDatabase: () => Promise<Database>;
  /** The configured default limits (HALLMARK_RATE_LIMIT_*, HALLMARK_QUOTA_*). */
  defaults: EffectiveLimits;
  /** Line sink for results (default: stdout). */
  print?: (line: string) => void;
}

interface UsageFlags {
  tenant?: string;
  from?: string;
  to?: string;
  csv?: boolean;
}

interface LimitFlags {
  rps?: string;
  burst?: string;
  imagesPerDay?: string;
  imagesPerMonth?: string;
}

/**
 * `hallmark usage [--tenant T] [--from D --to D] [--csv]`: usage per tenant per UTC day from the
 * audit rows; `hallmark tenant limits <name> [--rps N] [--burst N] [--images-per-day N]
 * [--images-per-month N]`: a tenant's overrides (a number, `off` for no limit, `default` for the
 * configured default); without options it shows them. `hallmark tenant limits` alone lists all.
 */
export function registerUsageCommands(
  program: Command,
  tenantCommand: Command,
  context: UsageCliContext,
): void {
  const print = context.print ?? ((line: string) => console.log(line));
  const withDatabase = async <T>(fn: (database: Database) => Promise<T>) => {
    const database = await context.openDatabase();
    try {
      return await fn(database);
    } finally {
      await database.close();
    }
  };

  program
    .command("usage")
    .description("usage per tenant per UTC day: requests, completed, images, refused, failed")
    .option("--tenant <name>", "only this tenant")
    .option("--from <date>", "first UTC day, YYYY-MM-DD (default: 29 days before --to)")
    .option("--to <date>", "last UTC day, YYYY-MM-DD (default: today)")
    .option("--csv", "CSV (RFC 4180) instead of a table")
    .action((flags: UsageFlags) =>
      withDatabase(async ({ db }) => {
        const range = usageRange(flags.from, flags.to);
        let tenantId: string | undefined;
        if (flags.tenant !== undefined) {
          const tenant = (await listTenants(db)).find((t) => t.name === flags.tenant);
          if (!tenant) throw new HallmarkError("not_found", `No tenant named "${flags.tenant}".`);
          tenantId = tenant.id;
        }
        const rows = await queryUsage(db, { tenantId, ...range });
        if (flags.csv) {
          for (const line of usageCsv(rows).trimEnd().split("\r\n")) print(line);
          return;
        }
        const header = ["date", "tenant", "requests", "completed", "images", "refused", "failed"];
        const table = [
          header,
          ...rows.map((r) => [
            r.date,
            r.tenant,
            String(r.requests),
            String(r.completed),
            String(r.images),
            String(r.refused),
            String(r.failed),
          ]),
        ];
        const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
        for (const row of table) {
          print(
            row
              .map((cell, i) => cell.padEnd(widths[i]!))
              .join("  ")
              .trimEnd(),
          );
        }
        if (rows.length === 0) print(`(no requests from ${range.from} to ${range.to})`);
      }),
    );

  tenantCommand
    .command("limits [name]")
    .description(
      "show or set a tenant's rate limit and image quotas (N, 'off' for none, 'default')",
    )
    .option("--rps <n>", "requests per second")
    .option("--burst <n>", "requests at once on a full bucket")
    .option("--images-per-day <n>", "images per UTC day")
    .option("--images-per-month <n>", "images per UTC month")
    .action((name: string | undefined, flags: LimitFlags) =>
      withDatabase(async ({ db }) => {
        const change: Partial<TenantLimitOverrides> = {
          rps: parseLimit(flags.rps, "--rps"),
          burst: parseLimit(flags.burst, "--burst"),
          imagesPerDay: parseLimit(flags.imagesPerDay, "--images-per-day"),
          imagesPerMonth: parseLimit(flags.imagesPerMonth, "--images-per-month"),
        };
        const changing = Object.values(change).some((v) => v !== undefined);
        if (name === undefined) {
          if (changing) {
            throw new HallmarkError("invalid_request_error", "Name the tenant to change.");
          }
          for (const row of await listTenantLimits(db)) print(describe(row.tenant, row));
          return;
        }
        if (changing) {
          const { overrides } = await setTenantLimits(db, name, change);
          print(describe(name, overrides));
          return;
        }
        const row = (await listTenantLimits(db)).find((r) => r.tenant === name);
        if (!row) throw new HallmarkError("not_found", `No tenant named "${name}".`);
        print(describe(name, row));
      }),
    );

  function describe(tenant: string, o: TenantLimitOverrides): string {
    const e = effectiveLimits(context.defaults, o);
    const show = (value: number, override: number | null, unit: string) =>
      `${value === 0 ? "off" : `${value}${unit}`}${override === null ? " (default)" : ""}`;
    return [
      tenant,
      `rps ${show(e.rate.rps, o.rps, "")}`,
      `burst ${show(e.rate.burst, o.burst, "")}`,
      `images/day ${show(e.quota.imagesPerDay, o.imagesPerDay, "")}`,
      `images/month ${show(e.quota.imagesPerMonth, o.imagesPerMonth, "")}`,
    ].join("\t");
  }
}

/** A limit flag: undefined (not given), null (`default`), 0 (`off`) or the number. */
function parseLimit(value: string | undefined, flag: string): number | null | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === "default") return null;
  if (v === "off" || v === "unlimited") return 0;
  const n = Number(v);
  if (v === "" || !Number.isFinite(n)) {
    throw new HallmarkError(
      "invalid_request_error",
      `${flag} takes a number, 'off' or 'default'; got "${value}".`,
    );
  }
  return n;
}
