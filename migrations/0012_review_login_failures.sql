CREATE TABLE "review_login_failures" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"subject_hash" text NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "review_login_failures_subject_at" ON "review_login_failures" USING btree ("subject_hash","at");--> statement-breakpoint
CREATE INDEX "review_login_failures_at" ON "review_login_failures" USING btree ("at");