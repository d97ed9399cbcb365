import { describe, expect, it } from 'vitest';
import { confidenceLevel, courseOf, unknownStudentEmail } from '../../machines/domain.ts';

describe('confidenceLevel', () => {
  it('calls an essay without a suggestion no_match', () => {
    expect(confidenceLevel(null)).toBe('no_match');
  });

  it('calls a score above 0.9 high', () => {
    expect(confidenceLevel(0.91)).toBe('high');
    expect(confidenceLevel(1)).toBe('high');
  });

  it('calls a score of exactly 0.9 medium, since high means above 0.9', () => {
    expect(confidenceLevel(0.9)).toBe('medium');
  });

  it('calls a score of exactly 0.7 medium, the lowest score the timeout keeps', () => {
    expect(confidenceLevel(0.7)).toBe('medium');
  });

  it('calls a score below 0.7 low', () => {
    expect(confidenceLevel(0.69)).toBe('low');
  });

  it('calls a suggestion scored 0 low rather than no_match, because a student was suggested', () => {
    expect(confidenceLevel(0)).toBe('low');
  });
});

describe('courseOf', () => {
  it.each([
    ['ENG5', 'English 5', 'en', 5],
    ['ENG6', 'English 6', 'en', 6],
    ['ENG7', 'English 7', 'en', 7],
    ['SV1', 'Svenska 1', 'sv', 1],
    ['SV2', 'Svenska 2', 'sv', 2],
    ['SV3', 'Svenska 3', 'sv', 3],
  ] as const)('describes %s as %s in language %s at level %i', (code, name, language, level) => {
    expect(courseOf(code)).toEqual({ course_code: code, name, language, level });
  });
});

describe('unknownStudentEmail', () => {
  it('addresses the UNKNOWN student of a class at unknown.{class_id}@huleedu.system', () => {
    expect(unknownStudentEmail('3f1c2b7a-0000-4000-8000-00000000c1a5')).toBe('unknown.3f1c2b7a-0000-4000-8000-00000000c1a5@huleedu.system');
  });

  it('gives different classes different UNKNOWN students', () => {
    expect(unknownStudentEmail('class-a')).not.toBe(unknownStudentEmail('class-b'));
  });
});
