/**
 * The base event fields several real models extend (`BaseEventData`): the batch is the entity.
 * Every body that carries them is built here, so they are spelled once.
 */
export function baseFields(eventName: string, batch: { batch_id: string }, at: string) {
  return { event_name: eventName, entity_id: batch.batch_id, entity_type: 'batch', parent_id: null, timestamp: at } as const;
}

/** An outbound event on `type` whose body is BaseEventData's fields followed by the event's own. */
export function batchEvent<T extends string, F extends object>(
  type: T,
  eventName: string,
  batch: { batch_id: string },
  at: string,
  fields: F,
) {
  return { type, data: { ...baseFields(eventName, batch, at), ...fields } } as const;
}
