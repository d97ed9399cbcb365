ALTER TABLE "essay_student_associations" ADD COLUMN "snapshot" jsonb;--> statement-breakpoint
ALTER TABLE "essay_student_associations" ADD COLUMN "machine_version" integer;--> statement-breakpoint
-- Each association's snapshot moves into its projection row: the row of the same essay and batch.
-- A batch still at machine v1 or v2 has no snapshots yet (its records are in the batch snapshot):
-- its rows stay null until its upgrade, at start or on its next event, fills them.
UPDATE "essay_student_associations" e SET "snapshot" = a."snapshot", "machine_version" = a."machine_version"
FROM "association_snapshots" a WHERE e."essay_id" = a."essay_id" AND e."batch_id" = a."batch_id";--> statement-breakpoint
DROP TABLE "association_snapshots" CASCADE;
