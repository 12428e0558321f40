ALTER TABLE "images" ADD COLUMN "pdq_hash" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "pdq_quality" integer;