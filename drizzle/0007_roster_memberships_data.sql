-- Rows written before class memberships: each student is a member of the class it was added to,
-- each class's courses are its one course, and each student was created by its class's owner.
UPDATE "classes" SET "course_codes" = ARRAY["course_code"] WHERE "course_codes" = '{}'::text[];--> statement-breakpoint
INSERT INTO "class_students" ("class_id", "student_id", "created_at")
SELECT "class_id", "id", "created_at" FROM "students" WHERE "class_id" IS NOT NULL
ON CONFLICT DO NOTHING;--> statement-breakpoint
UPDATE "students" s SET "created_by_user_id" = CASE WHEN s."is_unknown" THEN 'SYSTEM_TIMEOUT' ELSE c."owner_id" END
FROM "classes" c WHERE s."class_id" = c."id" AND s."created_by_user_id" IS NULL;
