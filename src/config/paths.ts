import { fileURLToPath } from "node:url";

/** The installed package's root (where policies/, models/ and migrations/ ship). */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url));
