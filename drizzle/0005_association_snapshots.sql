CREATE TABLE "association_snapshots" (
	"essay_id" uuid PRIMARY KEY NOT NULL,
	"batch_id" uuid NOT NULL,
	"machine_version" integer NOT NULL,
	"snapshot" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "association_snapshots" ADD CONSTRAINT "association_snapshots_batch_id_batches_batch_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("batch_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "association_snapshots_batch_idx" ON "association_snapshots" USING btree ("batch_id");