CREATE TABLE "essay_slots" (
	"essay_id" uuid PRIMARY KEY NOT NULL,
	"batch_id" uuid NOT NULL,
	"file_upload_id" text NOT NULL,
	"text_storage_id" text NOT NULL,
	"original_file_name" text NOT NULL,
	"assigned_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "essay_slots" ADD CONSTRAINT "essay_slots_batch_id_batches_batch_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."batches"("batch_id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "essay_slots_batch_idx" ON "essay_slots" USING btree ("batch_id");