import { teacherNotification } from './notifications.ts';

/**
 * The teacher notifications the real class service sends when a class or student is created
 * (`notification_projector.py`, called from `class_management_service_impl.py`), which this
 * service sends when it owns the roster. The class events themselves (ClassCreatedV1 and
 * StudentCreatedV1) it consumes from a real class service, so it does not publish them.
 */

export interface ClassFacts {
  class_id: string;
  name: string;
  course_codes: string[];
  owner_id: string;
}

export interface StudentFacts {
  student_id: string;
  first_name: string;
  last_name: string;
  email: string | null;
  class_ids: string[];
  created_by: string;
}

/** The real projector's `class_created`: its correlation id is the class id (ClassCreatedV1 has no event id). */
export function classCreatedNotification(klass: ClassFacts, at: string) {
  return teacherNotification(
    {
      teacher_id: klass.owner_id,
      notification_type: 'class_created',
      category: 'class_management',
      priority: 'standard',
      payload: {
        class_id: klass.class_id,
        class_designation: klass.name,
        course_codes: klass.course_codes,
        message: `Class '${klass.name}' created successfully`,
      },
      correlation_id: klass.class_id,
      class_id: klass.class_id,
    },
    at,
  );
}

/** The real projector's `student_added_to_class`, told to the owner of the class the student was added to. */
export function studentAddedNotification(student: StudentFacts, klass: Pick<ClassFacts, 'class_id' | 'name' | 'owner_id'>, at: string) {
  const name = `${student.first_name} ${student.last_name}`;
  return teacherNotification(
    {
      teacher_id: klass.owner_id,
      notification_type: 'student_added_to_class',
      category: 'class_management',
      priority: 'low',
      payload: {
        student_id: student.student_id,
        student_name: name,
        class_id: klass.class_id,
        class_designation: klass.name,
        message: `Student '${name}' added to class '${klass.name}'`,
      },
      correlation_id: student.student_id,
      class_id: klass.class_id,
    },
    at,
  );
}
