import { describe, expect, it } from 'vitest';
import { associationsConfirmed, studentMatchingCommand } from '../../machines/outbound.ts';

/** The bodies that name a class are only a class batch's; for a GUEST batch they throw instead of sending an empty class id. */
describe('outbound bodies that name the class', () => {
  const guest = {
    batch_id: '00000000-0000-4000-8000-0000000000b1',
    owner_id: 'teacher-a',
    class_id: null,
    course_code: 'ENG5' as const,
    correlation_id: '00000000-0000-4000-8000-0000000000cc',
    language: 'en' as const,
  };
  const at = '2025-03-01T08:00:00.000Z';

  it('refuses to build the student-matching command of a GUEST batch', () => {
    expect(() => studentMatchingCommand(guest, [], at)).toThrow(/invariant broken: GUEST batch/);
  });

  it('refuses to build StudentAssociationsConfirmedV1 of a GUEST batch', () => {
    expect(() => associationsConfirmed(guest, {}, false, at)).toThrow(/invariant broken: GUEST batch/);
  });

  it('names the class of a class batch', () => {
    const regular = { ...guest, class_id: '00000000-0000-4000-8000-0000000000c1' };
    expect(studentMatchingCommand(regular, [], at).data.class_id).toBe(regular.class_id);
    expect(associationsConfirmed(regular, {}, false, at).data.class_id).toBe(regular.class_id);
  });
});
