import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * postgres.js 3.4.9 can throw an uncaught TypeError from a write scheduled after its socket
 * closed (porsager/postgres#1208), which killed every gateway replica when PostgreSQL stopped
 * under load (bench/load-replicas.ts --fault-at). patches/postgres+3.4.9.patch, applied by
 * patch-package on `npm install`, guards it; this fails when the install did not apply it.
 */
describe("the installed postgres.js", () => {
  // The package's exports hide package.json; its CommonJS entry is cjs/src/index.js.
  const root = join(dirname(createRequire(import.meta.url).resolve("postgres")), "..", "..");
  const version = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version;

  it("is the version the patch was made for", () => {
    expect(version).toBe("3.4.9");
  });

  it.each(["src/connection.js", "cjs/src/connection.js"])(
    "guards nextWrite against a closed socket (%s)",
    (file) => {
      const source = readFileSync(join(root, file), "utf8");
      const body = source.slice(source.indexOf("function nextWrite("));
      expect(body.indexOf("if (!socket)")).toBeGreaterThan(0);
      expect(body.indexOf("if (!socket)")).toBeLessThan(body.indexOf("socket.write("));
    },
  );
});
