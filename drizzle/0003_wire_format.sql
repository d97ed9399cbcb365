ALTER TABLE "batches" ADD COLUMN "prompt_payload" jsonb;--> statement-breakpoint
ALTER TABLE "batches" ADD COLUMN "student_prompt_ref" jsonb;--> statement-breakpoint
ALTER TABLE "essay_student_associations" ADD COLUMN "filename" text;--> statement-breakpoint
ALTER TABLE "essay_student_associations" ADD COLUMN "suggestions" jsonb;--> statement-breakpoint
-- Associations written before this migration kept only the top suggestion: it becomes the list.
UPDATE "essay_student_associations" a SET "suggestions" = CASE WHEN a."suggested_student_id" IS NULL THEN '[]'::jsonb ELSE jsonb_build_array(jsonb_build_object(
  'student_id', a."suggested_student_id", 'student_name', coalesce((SELECT s."first_name" || ' ' || s."last_name" FROM "students" s WHERE s."id" = a."suggested_student_id"), ''),
  'student_email', (SELECT s."email" FROM "students" s WHERE s."id" = a."suggested_student_id"),
  'confidence_score', coalesce(a."confidence_score", 0), 'match_reasons', coalesce(a."match_reasons", '[]'::jsonb))) END
WHERE a."suggestions" IS NULL;
