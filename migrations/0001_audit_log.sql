CREATE TABLE "audit_log_checkpoints" (
	"size" bigint PRIMARY KEY NOT NULL,
	"root_hash" "bytea" NOT NULL,
	"note" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log_entries" (
	"index" bigint PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"generation_id" uuid,
	"redacts_index" bigint,
	"entry" "bytea" NOT NULL,
	"leaf_hash" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_log_nodes" (
	"level" smallint NOT NULL,
	"index" bigint NOT NULL,
	"hash" "bytea" NOT NULL,
	CONSTRAINT "audit_log_nodes_level_index_pk" PRIMARY KEY("level","index")
);
--> statement-breakpoint
CREATE TABLE "audit_log_payloads" (
	"index" bigint PRIMARY KEY NOT NULL,
	"salt" "bytea" NOT NULL,
	"payload" "bytea" NOT NULL
);
--> statement-breakpoint
CREATE INDEX "audit_log_entries_generation_idx" ON "audit_log_entries" USING btree ("generation_id");--> statement-breakpoint
CREATE INDEX "audit_log_entries_redacts_idx" ON "audit_log_entries" USING btree ("redacts_index");