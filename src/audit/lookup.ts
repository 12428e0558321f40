import { eq, sql } from "drizzle-orm";
import { type Db, withDatabase } from "../db/index.js";
import { generations, images } from "../db/schema.js";
import type { GenerationRow, ImageRow } from "./record.js";

/** Images whose invisible mark carried this mark id, with their generation. */
export async function findImagesByMarkId(
  db: Db,
  markId: string,
): Promise<Array<{ image: ImageRow; generation: GenerationRow }>> {
  return withDatabase(() =>
    db
      .select({ image: images, generation: generations })
      .from(images)
      .innerJoin(generations, eq(images.generationId, generations.id))
      .where(eq(images.watermarkMarkId, markId)),
  );
}

/**
 * Images whose PDQ hash is within `maxDistance` bits of `pdqHex`, nearest first. A linear scan
 * with PostgreSQL's bit operations (bit_count of the XOR): fine for millions of rows on one
 * node; a multi-index hash table (Meta's PDQ index) is the step after that.
 */
export async function findImagesNearPdq(
  db: Db,
  pdqHex: string,
  maxDistance: number,
  limit = 10,
): Promise<Array<{ image: ImageRow; generation: GenerationRow; distance: number }>> {
  if (!/^[0-9a-f]{64}$/.test(pdqHex)) return [];
  const distance = sql<number>`bit_count(('x' || ${images.pdqHash})::bit(256) # ('x' || ${pdqHex})::bit(256))::int`;
  return withDatabase(() =>
    db
      .select({ image: images, generation: generations, distance })
      .from(images)
      .innerJoin(generations, eq(images.generationId, generations.id))
      .where(sql`${images.pdqHash} is not null and ${distance} <= ${maxDistance}`)
      .orderBy(distance)
      .limit(limit),
  );
}
