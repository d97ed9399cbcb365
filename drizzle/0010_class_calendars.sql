CREATE TABLE "class_calendars" (
	"class_id" uuid PRIMARY KEY NOT NULL,
	"calendar" jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "class_calendars" ADD CONSTRAINT "class_calendars_class_id_classes_id_fk" FOREIGN KEY ("class_id") REFERENCES "public"."classes"("id") ON DELETE cascade ON UPDATE no action;