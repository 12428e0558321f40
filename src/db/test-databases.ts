/**
 * Test support: every database test runs on an in-memory PGlite, and also on real PostgreSQL
 * when TEST_DATABASE_URL is set (CI sets it). Each call to `open` on PostgreSQL creates a fresh
 * database so test files can run in parallel; `close` drops it.
 */
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type Database, openDatabase } from "./open.js";

export interface TestDatabase {
  name: "pglite" | "postgres";
  open(): Promise<Database & { url?: string }>;
}

export function testDatabases(): TestDatabase[] {
  const list: TestDatabase[] = [
    {
      name: "pglite",
      open: async () => {
        const database = await openDatabase();
        await database.migrate();
        return database;
      },
    },
  ];
  const url = process.env.TEST_DATABASE_URL;
  if (url) list.push({ name: "postgres", open: () => openFreshPostgres(url) });
  return list;
}

async function openFreshPostgres(adminUrl: string): Promise<Database & { url: string }> {
  const name = `hallmark_t_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), maxConnections: 5 });
  await database.migrate();
  return {
    ...database,
    url: url.toString(),
    close: async () => {
      await database.close();
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await dropper.unsafe(`drop database if exists ${name} with (force)`);
      await dropper.end();
    },
  };
}
