import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { guardPgliteTransactions } from "./pglite-guard.js";
import { schema } from "./schema.js";

/** The drizzle handle every capability queries through, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: "pglite" | "postgres";
  /** Where the data lives, safe to log (no password). */
  location: string;
  /** Applies pending migrations from migrations/. Safe to run from several processes at once. */
  migrate(): Promise<void>;
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL: PostgreSQL through postgres.js. Absent: embedded PGlite. */
  url?: string;
  /** PGlite data folder. Absent (and no url): an in-memory PGlite, for tests. */
  dataDir?: string;
  /** Seconds to wait for a PostgreSQL connection before failing (fail closed, never hang). */
  connectTimeoutSeconds?: number;
  maxConnections?: number;
}

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../migrations", import.meta.url));

/** An arbitrary but fixed key for the advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK_KEY = 0x48414c4d; // "HALM"

/**
 * Opens the embedded PGlite database (a data folder, or memory) or PostgreSQL.
 *
 * @example const { db, migrate } = await openDatabase({ dataDir: "./data/pglite" }); await migrate();
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  if (options.url) return openPostgres(options.url, options);
  return openPglite(options.dataDir);
}

async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // A query on `db` inside one of its own transactions fails at once instead of hanging.
  const client = guardPgliteTransactions(dataDir ? new PGlite(dataDir) : new PGlite());
  await client.waitReady;
  const db = drizzlePglite({ client, schema });
  return {
    db: db as unknown as Db,
    kind: "pglite",
    location: dataDir ? path.resolve(dataDir) : "memory",
    // PGlite is one connection in this process: nothing else can migrate concurrently.
    migrate: () => migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    ping: async () => {
      if (client.closed) throw new Error("PGlite is closed");
      await client.query("select 1");
    },
    close: async () => {
      if (!client.closed) await client.close();
    },
  };
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  const client = postgres(url, {
    max: options.maxConnections ?? 10,
    connect_timeout: options.connectTimeoutSeconds ?? 5,
    idle_timeout: 30,
    onnotice: () => {},
  });
  const db = drizzlePostgres({ client, schema });
  const parsed = new URL(url);
  return {
    db: db as unknown as Db,
    kind: "postgres",
    location: `${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}`,
    migrate: async () => {
      // Replicas starting together must not apply the same migration twice.
      // The lock is held on a reserved connection while the migrator runs on the pool.
      const lock = await client.reserve();
      try {
        await lock`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        await migratePostgres(db, { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await lock`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`.catch(() => {});
        lock.release();
      }
    },
    ping: async () => {
      await db.execute(sql`select 1`);
    },
    close: () => client.end({ timeout: 5 }),
  };
}
