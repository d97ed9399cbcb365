import { z } from '@hono/zod-openapi';
import { CourseCode } from '../../machines/domain.ts';
import { EXAMPLE } from '../openapi-schemas.ts';

/** The answer of GET /v1/classes (kept beside its route so the shared schema file stays as it is). */
export const ClassList = z
  .strictObject({
    classes: z.array(
      z.strictObject({
        class_id: z.uuid(),
        name: z.string(),
        course_code: CourseCode,
        created_at: z.iso.datetime({ offset: true }),
        student_count: z.number().int().nonnegative(),
      }),
    ),
  })
  .openapi('ClassList', {
    example: {
      classes: [{ class_id: EXAMPLE.classId, name: 'ENG5 Tuesday group', course_code: 'ENG5', created_at: EXAMPLE.at, student_count: 24 }],
    },
  });
