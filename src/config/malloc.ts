/**
 * glibc's allocator settings, which bin/hallmark sets before node starts (glibc reads
 * GLIBC_TUNABLES once, at exec; nothing in the process can change them later). Kept here so
 * that the configuration (and the start line) says what is in force, and the launcher's test and
 * the benches use the same value.
 */

/** What `HALLMARK_MALLOC=compact` (the default) sets; bin/hallmark holds the same string. */
export const COMPACT_MALLOC_TUNABLES =
  "glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=2097152:glibc.malloc.trim_threshold=8388608";

/**
 * The malloc tunables this process runs with (the `glibc.malloc.*` entries of GLIBC_TUNABLES,
 * joined by `:`), or null: glibc's defaults, e.g. a process started with `node bin/hallmark.js`
 * rather than through the launcher.
 */
export function mallocTunablesInForce(env: Record<string, string | undefined>): string | null {
  const entries = (env.GLIBC_TUNABLES ?? "")
    .split(":")
    .filter((entry) => entry.startsWith("glibc.malloc."));
  return entries.length > 0 ? entries.join(":") : null;
}
