#!/usr/bin/env bash
# The README's curl walk-through as one runnable script: a REGULAR and a GUEST batch end to end.
# Usage: BASE=http://localhost:3000 SERVICE_TOKEN=... TEACHER_TOKEN=... bash scripts/walkthrough.sh
# (npm start prints both tokens; `npm run token -- <teacher-id>` mints more teachers.)
set -euo pipefail
BASE=${BASE:-http://localhost:3000}
: "${SERVICE_TOKEN:?set SERVICE_TOKEN (printed by npm start)}"
: "${TEACHER_TOKEN:?set TEACHER_TOKEN (printed by npm start)}"

uuid() { node -e 'console.log(crypto.randomUUID())'; }
now() { date -u +%Y-%m-%dT%H:%M:%SZ; }
# call METHOD PATH TOKEN [JSON] — prints the body; fails on an unexpected status.
call() {
  local method=$1 path=$2 token=$3 body=${4:-} expect=${EXPECT:-2}
  local out status
  out=$(mktemp)
  if [ -n "$body" ]; then
    status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$BASE$path" \
      -H "authorization: Bearer $token" -H 'content-type: application/json' -d "$body")
  else
    status=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$BASE$path" -H "authorization: Bearer $token")
  fi
  if [[ "$status" != $expect* ]]; then
    echo "unexpected $status from $method $path: $(cat "$out")" >&2
    exit 1
  fi
  cat "$out"
  rm -f "$out"
}
event() { # event TOPIC DATA_JSON
  call POST /v1/events "$SERVICE_TOKEN" "$(jq -n --arg id "$(uuid)" --arg type "$1" --arg ts "$(now)" \
    --arg cid "$(uuid)" --argjson data "$2" \
    '{event_id: $id, event_type: $type, event_timestamp: $ts, source_service: "walkthrough", correlation_id: $cid, data: $data}')"
}
step() { printf '\n== %s\n' "$*"; }

step "REGULAR: a class with two students"
CLASS_ID=$(call POST /v1/classes "$TEACHER_TOKEN" '{"name": "9B English", "course_code": "ENG5"}' | jq -r .class_id)
STUDENTS=$(call POST "/v1/classes/$CLASS_ID/students" "$TEACHER_TOKEN" \
  '{"students": [{"first_name": "Astrid", "last_name": "Lind", "email": "astrid@school.example"},
                 {"first_name": "Bo", "last_name": "Ek", "email": "bo@school.example"}]}')
ASTRID=$(jq -r '.students[0].student_id' <<<"$STUDENTS"); BO=$(jq -r '.students[1].student_id' <<<"$STUDENTS")

step "register the batch"
BATCH_ID=$(call POST /v1/batches "$TEACHER_TOKEN" "{\"course_code\": \"ENG5\", \"class_id\": \"$CLASS_ID\", \"expected_essay_count\": 2}" | jq -r .batch_id)
echo "batch $BATCH_ID"
E1=$(uuid); E2=$(uuid)

step "content provisioned (the essay lifecycle service)"
event huleedu.batch.content.provisioning.completed.v1 "{\"batch_id\": \"$BATCH_ID\", \"provisioned_count\": 2, \"expected_count\": 2,
  \"course_code\": \"ENG5\", \"user_id\": \"teacher-a\",
  \"essays_for_processing\": [{\"essay_id\": \"$E1\", \"text_storage_id\": \"s-1\"}, {\"essay_id\": \"$E2\", \"text_storage_id\": \"s-2\"}]}" | jq -c '{status, state, version}'

step "the student-matching command is in the outbox, with course_code"
call GET '/v1/outbox?limit=1000' "$SERVICE_TOKEN" |
  jq -c --arg b "$BATCH_ID" '.events[] | select(.batch_id == $b) | {topic, course_code: .envelope.data.course_code}'

step "the NLP matcher suggests authors"
event huleedu.batch.author.matches.suggested.v1 "{\"batch_id\": \"$BATCH_ID\", \"class_id\": \"$CLASS_ID\", \"course_code\": \"ENG5\",
  \"match_results\": [
    {\"essay_id\": \"$E1\", \"text_storage_id\": \"s-1\", \"filename\": \"astrid.docx\",
     \"suggestions\": [{\"student_id\": \"$ASTRID\", \"student_name\": \"Astrid Lind\", \"confidence_score\": 0.93, \"match_reasons\": [\"name in header\"]}]},
    {\"essay_id\": \"$E2\", \"text_storage_id\": \"s-2\", \"filename\": \"unknown.docx\",
     \"suggestions\": [{\"student_id\": \"$ASTRID\", \"student_name\": \"Astrid Lind\", \"confidence_score\": 0.41, \"match_reasons\": [\"style\"]}]}]}" | jq -c '{status, state}'
call GET "/v1/batches/$BATCH_ID/student-associations" "$TEACHER_TOKEN" |
  jq -c '.associations[] | {essay_id, student: .student.name, confidence_score, confidence_level, validation_status, due_at}'

step "a pipeline request before the batch is ready is refused (409)"
EXPECT=409 call POST "/v1/batches/$BATCH_ID/pipelines" "$TEACHER_TOKEN" '{"pipeline": "nlp"}' | jq -c '{status, state, allowed_events}'

step "the teacher confirms one and corrects the other to Bo"
call POST "/v1/batches/$BATCH_ID/student-associations/confirm" "$TEACHER_TOKEN" \
  "{\"associations\": [{\"essay_id\": \"$E1\", \"confirmed\": true}, {\"essay_id\": \"$E2\", \"student_id\": \"$BO\", \"confirmed\": true}]}" |
  jq -c '{status, results: [.results[] | {outcome, validation_status}]}'

step "StudentAssociationsConfirmedV1 is in the outbox"
call GET '/v1/outbox?limit=1000' "$SERVICE_TOKEN" |
  jq -c --arg b "$BATCH_ID" '.events[] | select(.batch_id == $b and .topic == "huleedu.class.student.associations.confirmed.v1")
    | .envelope | {correlation_id, course_code: .data.course_code, timeout_triggered: .data.timeout_triggered,
      methods: [.data.associations[].validation_method], validation_summary: .data.validation_summary}'

step "the essays are stored: ready for pipeline execution"
event huleedu.els.batch.essays.ready.v1 "{\"batch_id\": \"$BATCH_ID\", \"course_code\": \"ENG5\", \"course_language\": \"en\", \"class_type\": \"REGULAR\", \"metadata\": {\"entity_id\": \"$BATCH_ID\", \"entity_type\": \"batch\"},
  \"ready_essays\": [{\"essay_id\": \"$E1\", \"text_storage_id\": \"s-1\"}, {\"essay_id\": \"$E2\", \"text_storage_id\": \"s-2\"}]}" | jq -c '{status}'
EXPECT=202 call POST "/v1/batches/$BATCH_ID/pipelines" "$TEACHER_TOKEN" '{"pipeline": "nlp"}' | jq -c '{status}'

step "the history shows every step"
call GET "/v1/batches/$BATCH_ID/history" "$TEACHER_TOKEN" | jq -r '.history[] | "\(.seq)\t\(.outcome)\t\(.event_type)\t\(.from_state // "-") -> \(.to_state // "-")"'

step "the pipeline's first phase, spellcheck, is commanded; the batch stays ready"
call GET '/v1/outbox?limit=1000' "$SERVICE_TOKEN" |
  jq -c --arg b "$BATCH_ID" '.events[] | select(.batch_id == $b and .topic == "huleedu.els.spellcheck.initiate.command.v1")
    | .envelope.data | {event_name, entity_id, language, essays: (.essays_to_process | length)}'

step "GUEST: no class, no student validation, ready on provisioning"
GUEST_ID=$(call POST /v1/batches "$TEACHER_TOKEN" '{"course_code": "SV1", "expected_essay_count": 1}' | jq -r .batch_id)
G1=$(uuid)
event huleedu.batch.content.provisioning.completed.v1 "{\"batch_id\": \"$GUEST_ID\", \"provisioned_count\": 1, \"expected_count\": 1,
  \"course_code\": \"SV1\", \"user_id\": \"teacher-a\", \"essays_for_processing\": [{\"essay_id\": \"$G1\", \"text_storage_id\": \"g-1\"}]}" | jq -c '{status}'
EXPECT=202 call POST "/v1/batches/$GUEST_ID/pipelines" "$TEACHER_TOKEN" '{"pipeline": "nlp"}' | jq -c '{status}'
call GET "/v1/batches/$GUEST_ID/history" "$TEACHER_TOKEN" | jq -r '.history[] | "\(.seq)\t\(.outcome)\t\(.event_type)\t\(.from_state // "-") -> \(.to_state // "-")"'
echo; echo "walk-through complete"
