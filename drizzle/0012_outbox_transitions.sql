-- One outbox row per transition: its messages, in order, in one jsonb array. Each row written before
-- held one message; it becomes a one-message array with the same seq, position and published_at.
ALTER TABLE "outbox" ADD COLUMN "messages" jsonb;--> statement-breakpoint
UPDATE "outbox" SET "messages" = jsonb_build_array(jsonb_build_object(
  'event_id', "event_id", 'topic', "topic", 'correlation_id', "correlation_id", 'envelope', "envelope"));--> statement-breakpoint
ALTER TABLE "outbox" ALTER COLUMN "messages" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "outbox" DROP CONSTRAINT "outbox_event_id_unique";--> statement-breakpoint
ALTER TABLE "outbox" DROP COLUMN "event_id";--> statement-breakpoint
ALTER TABLE "outbox" DROP COLUMN "topic";--> statement-breakpoint
ALTER TABLE "outbox" DROP COLUMN "correlation_id";--> statement-breakpoint
ALTER TABLE "outbox" DROP COLUMN "envelope";--> statement-breakpoint
ALTER TABLE "outbox" ADD CONSTRAINT "outbox_messages_array" CHECK (jsonb_typeof("outbox"."messages") = 'array' AND jsonb_array_length("outbox"."messages") > 0);--> statement-breakpoint
-- The outbox a message a row, for readers: seq and idx (from 1) name a message; position is its place in the feed.
CREATE VIEW "outbox_messages" AS
SELECT o."seq", m.idx::int AS "idx", (m.message->>'event_id')::uuid AS "event_id", m.message->>'topic' AS "topic",
  o."batch_id", (m.message->>'correlation_id')::uuid AS "correlation_id", m.message->'envelope' AS "envelope",
  o."created_at", o."published_at", o."position" + m.idx - 1 AS "position"
FROM "outbox" o CROSS JOIN LATERAL jsonb_array_elements(o."messages") WITH ORDINALITY AS m(message, idx);
