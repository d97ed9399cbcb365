import { z } from '@hono/zod-openapi';
import { uuid, EXAMPLE } from './common.ts';

/** Students: a class's roster and one student's record. */

const email = z
  .string()
  .nullable()
  .openapi({ description: 'Optional, and may hold non-ASCII characters (SMTPUTF8).', example: 'emil.zäll.jernberg@test.edu' });

const PersonName = z
  .strictObject({ first_name: z.string(), last_name: z.string(), legal_full_name: z.string().nullable() })
  .openapi('PersonName', { description: 'PersonNameV1.' });

const Student = z
  .strictObject({
    student_id: uuid,
    first_name: z.string(),
    last_name: z.string(),
    legal_full_name: z.string().nullable(),
    email,
    is_unknown: z.boolean(),
  })
  .openapi('Student');

export const Roster = z.strictObject({ class_id: uuid, students: z.array(Student) }).openapi('Roster', {
  example: {
    class_id: EXAMPLE.classId,
    students: [
      {
        student_id: EXAMPLE.studentId,
        first_name: 'Emil',
        last_name: 'Zäll',
        legal_full_name: null,
        email: 'emil.zäll.jernberg@test.edu',
        is_unknown: false,
      },
    ],
  },
});

const studentDetailExample = {
  id: EXAMPLE.studentId,
  full_name: 'Emil Zäll',
  first_name: 'Emil',
  last_name: 'Zäll',
  person_name: { first_name: 'Emil', last_name: 'Zäll', legal_full_name: 'Emil Zäll Jernberg' },
  email: 'emil.zäll.jernberg@test.edu',
  class_ids: [EXAMPLE.classId],
};

export const StudentDetail = z
  .strictObject({
    id: uuid,
    full_name: z.string().openapi({ description: 'First and last name, as the real class service answers a created student.' }),
    first_name: z.string(),
    last_name: z.string(),
    person_name: PersonName,
    email,
    class_ids: z.array(uuid),
  })
  .openapi('StudentDetail', { example: studentDetailExample });
