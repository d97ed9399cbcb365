import { z } from '@hono/zod-openapi';
import { CourseCode } from '../../machines/domain.ts';
import { uuid, instant, count, EXAMPLE } from './common.ts';

/** A class as its teacher reads it. */

const classExample = {
  class_id: EXAMPLE.classId,
  id: EXAMPLE.classId,
  name: 'ENG5 Tuesday group',
  course_code: 'ENG5',
  course_codes: ['ENG5', 'ENG6'],
  created_at: EXAMPLE.at,
};

export const ClassView = z
  .strictObject({
    class_id: uuid,
    id: uuid.openapi({ description: 'The class id again, under the name the real class service answers with.' }),
    name: z.string(),
    course_code: CourseCode,
    course_codes: z.array(CourseCode),
    created_at: instant,
  })
  .openapi('Class', { example: classExample });

export const ClassDetail = z
  .strictObject({ ...ClassView.shape, student_count: count.openapi({ description: 'Members, the UNKNOWN student not counted.' }) })
  .openapi('ClassDetail', { example: { ...classExample, student_count: 24 } });
