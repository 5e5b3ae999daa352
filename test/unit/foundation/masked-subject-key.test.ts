/** The psn_no of a person-year subject key, as institutions and insurers see it (issue 13). */
import { maskedSubjectKey, psnPseudonym } from '../../../src/discrepancies/evidence-scope';
import { subjectKey } from '../../../src/matching/rules';

const person = (psn: string, year = 2025) => subjectKey({ kind: 'person_year', admdvs: '1509', psn_no: psn, year });

test('when a person-year key is masked, then region and year stay and the psn_no is replaced by a pseudonym', () => {
  const masked = maskedSubjectKey(person('P-CAP-1'));
  expect(masked).toMatch(/^person:1509:psn-[0-9a-f]{16}:2025$/);
  expect(masked).not.toContain('P-CAP-1');
});

test('when the same person is masked twice, or in another year, then the pseudonym is the same; another person gets another', () => {
  expect(maskedSubjectKey(person('P-1'))).toBe(maskedSubjectKey(person('P-1')));
  expect(maskedSubjectKey(person('P-1', 2026)).split(':')[2]).toBe(psnPseudonym('P-1'));
  expect(psnPseudonym('P-1')).not.toBe(psnPseudonym('P-2'));
});

test('when a psn_no holds the key separator, then it is still masked whole', () => {
  expect(maskedSubjectKey(person('A:B%C'))).toBe(`person:1509:${psnPseudonym('A:B%C')}:2025`);
});

test('when a key names no person, then it is shown unchanged', () => {
  for (const k of ['setl:S1', 'line:PICC_DH:PAY-1:1', 'decl:H53310200001:PICC_DH:2025-03', 'insurer:PICC_DH:2025-03'])
    expect(maskedSubjectKey(k)).toBe(k);
});
