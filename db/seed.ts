import { CourseCode, courseOf } from '../machines/domain.ts';

export const COURSE_CODES_SEED = CourseCode.options.map(courseOf);
