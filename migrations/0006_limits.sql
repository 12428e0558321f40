CREATE TABLE "quota_counters" (
	"tenant_id" uuid NOT NULL,
	"period" text NOT NULL,
	"period_start" date NOT NULL,
	"used" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "quota_counters_tenant_id_period_period_start_pk" PRIMARY KEY("tenant_id","period","period_start")
);
--> statement-breakpoint
CREATE TABLE "rate_limit_state" (
	"key" text PRIMARY KEY NOT NULL,
	"tat_ms" double precision NOT NULL,
	"allowed" boolean NOT NULL
);
--> statement-breakpoint
CREATE TABLE "tenant_limits" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"rps" double precision,
	"burst" integer,
	"images_per_day" integer,
	"images_per_month" integer,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "quota_counters" ADD CONSTRAINT "quota_counters_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_limits" ADD CONSTRAINT "tenant_limits_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE no action ON UPDATE no action;