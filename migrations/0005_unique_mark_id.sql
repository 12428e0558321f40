DROP INDEX "images_watermark_mark_id_idx";--> statement-breakpoint
CREATE UNIQUE INDEX "images_watermark_mark_id_idx" ON "images" USING btree ("watermark_mark_id");