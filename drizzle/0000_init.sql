CREATE TYPE "public"."log_level" AS ENUM('debug', 'info', 'warn', 'error');--> statement-breakpoint
CREATE TYPE "public"."sweep_method" AS ENUM('grid', 'random', 'tpe', 'pbt');--> statement-breakpoint
CREATE TYPE "public"."sweep_status" AS ENUM('running', 'finished', 'stopped');--> statement-breakpoint
CREATE TYPE "public"."trial_status" AS ENUM('queued', 'running', 'cancelling', 'completed', 'failed', 'cancelled', 'pruned');--> statement-breakpoint
CREATE TABLE "checkpoints" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"trial_id" uuid NOT NULL,
	"epoch" integer NOT NULL,
	"step" integer NOT NULL,
	"data" "bytea" NOT NULL,
	"reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "metrics" (
	"trial_id" uuid NOT NULL,
	"key" text NOT NULL,
	"step" integer NOT NULL,
	"epoch" integer NOT NULL,
	"value" double precision NOT NULL,
	"wall_time" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "metrics_pkey" PRIMARY KEY("trial_id","key","step")
);
--> statement-breakpoint
CREATE TABLE "runners" (
	"id" text PRIMARY KEY NOT NULL,
	"hostname" text NOT NULL,
	"pid" integer NOT NULL,
	"backend" text,
	"device" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"stopped_at" timestamp with time zone,
	"current_trial_id" uuid
);
--> statement-breakpoint
CREATE TABLE "samples" (
	"trial_id" uuid NOT NULL,
	"epoch" integer NOT NULL,
	"step" integer NOT NULL,
	"png" "bytea" NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "samples_pkey" PRIMARY KEY("trial_id","epoch")
);
--> statement-breakpoint
CREATE TABLE "sweeps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"spec" jsonb NOT NULL,
	"method" "sweep_method" NOT NULL,
	"status" "sweep_status" DEFAULT 'running' NOT NULL,
	"sweep_state" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "trial_logs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "trial_logs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"trial_id" uuid NOT NULL,
	"ts" timestamp with time zone DEFAULT now() NOT NULL,
	"level" "log_level" DEFAULT 'info' NOT NULL,
	"message" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "trials" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"sweep_id" uuid,
	"number" integer NOT NULL,
	"config" jsonb NOT NULL,
	"status" "trial_status" DEFAULT 'queued' NOT NULL,
	"runner_id" text,
	"attempt" integer DEFAULT 0 NOT NULL,
	"heartbeat_at" timestamp with time zone,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"error" text,
	"backend" text,
	"device" text,
	"epoch" integer DEFAULT 0 NOT NULL,
	"step" integer DEFAULT 0 NOT NULL,
	"objective" double precision,
	"parent_trial_id" uuid,
	"exploit_epoch" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "trials_attempt_nonnegative" CHECK ("trials"."attempt" >= 0)
);
--> statement-breakpoint
ALTER TABLE "checkpoints" ADD CONSTRAINT "checkpoints_trial_id_trials_id_fk" FOREIGN KEY ("trial_id") REFERENCES "public"."trials"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "metrics" ADD CONSTRAINT "metrics_trial_id_trials_id_fk" FOREIGN KEY ("trial_id") REFERENCES "public"."trials"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "runners" ADD CONSTRAINT "runners_current_trial_id_trials_id_fk" FOREIGN KEY ("current_trial_id") REFERENCES "public"."trials"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "samples" ADD CONSTRAINT "samples_trial_id_trials_id_fk" FOREIGN KEY ("trial_id") REFERENCES "public"."trials"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trial_logs" ADD CONSTRAINT "trial_logs_trial_id_trials_id_fk" FOREIGN KEY ("trial_id") REFERENCES "public"."trials"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trials" ADD CONSTRAINT "trials_sweep_id_sweeps_id_fk" FOREIGN KEY ("sweep_id") REFERENCES "public"."sweeps"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trials" ADD CONSTRAINT "trials_runner_id_runners_id_fk" FOREIGN KEY ("runner_id") REFERENCES "public"."runners"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "trials" ADD CONSTRAINT "trials_parent_trial_id_trials_id_fk" FOREIGN KEY ("parent_trial_id") REFERENCES "public"."trials"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "checkpoints_trial_step_idx" ON "checkpoints" USING btree ("trial_id","step","created_at");--> statement-breakpoint
CREATE INDEX "trial_logs_trial_idx" ON "trial_logs" USING btree ("trial_id","id");--> statement-breakpoint
CREATE INDEX "trials_queued_idx" ON "trials" USING btree ("created_at","id") WHERE "trials"."status" = 'queued';--> statement-breakpoint
CREATE INDEX "trials_heartbeat_idx" ON "trials" USING btree ("heartbeat_at") WHERE "trials"."status" in ('running', 'cancelling');--> statement-breakpoint
CREATE UNIQUE INDEX "trials_sweep_number_idx" ON "trials" USING btree ("sweep_id","number");--> statement-breakpoint
CREATE INDEX "trials_parent_idx" ON "trials" USING btree ("parent_trial_id");--> statement-breakpoint
CREATE INDEX "trials_runner_idx" ON "trials" USING btree ("runner_id");