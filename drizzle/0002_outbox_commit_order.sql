ALTER TABLE "outbox" ADD COLUMN "position" bigint;--> statement-breakpoint
CREATE INDEX "outbox_unpositioned_idx" ON "outbox" USING btree ("seq") WHERE "outbox"."position" IS NULL;--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_position_unique" UNIQUE("position");