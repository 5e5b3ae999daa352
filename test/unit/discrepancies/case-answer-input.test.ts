/** The bodies of the answers on a case (spec §10) and who hears a step: pure, no I/O. */
import {
  MAX_ATTACHMENT_BYTES,
  contentTypeOf,
  parseComment,
  parseDecision,
  parseDispute,
} from '../../../src/discrepancies/case-answer-input';
import { hearsStep } from '../../../src/notifications/audience';

const paths = (p: { errors?: { path: string }[] }) => p.errors?.map((e) => e.path);

test('when a dispute names a known reason and a file, then it parses with the file decoded and hashed', () => {
  const p = parseDispute({
    reason_code: 'D03',
    note: ' wrong record ',
    attachments: [{ filename: 'a.PDF', content_base64: Buffer.from('abc').toString('base64') }],
  });
  expect(p.errors).toBeUndefined();
  expect(p.value).toMatchObject({
    reason_code: 'D03',
    note: 'wrong record',
    attachments: [
      {
        filename: 'a.PDF',
        content_type: 'application/pdf',
        sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      },
    ],
  });
  expect(p.value!.attachments[0]!.content.toString()).toBe('abc');
});

test('when the reason is unknown or D99 comes without a note, then the error names /reason_code or /note', () => {
  expect(paths(parseDispute({ reason_code: 'D05' }))).toEqual(['/reason_code']);
  expect(paths(parseDispute({}))).toEqual(['/reason_code']);
  expect(paths(parseDispute({ reason_code: 'D99' }))).toEqual(['/note']);
  expect(paths(parseDispute({ reason_code: 'D99', note: ' ' }))).toEqual(['/note']);
  expect(parseDispute({ reason_code: 'D01' }).value).toEqual({ reason_code: 'D01', attachments: [] });
});

test('when files exceed 5 MiB in all, are not padded base64 or name a folder, then the error names the file', () => {
  const half = 'A'.repeat(Math.ceil((MAX_ATTACHMENT_BYTES / 2 + 1) / 3) * 4);
  expect(
    paths(
      parseDispute({
        reason_code: 'D01',
        attachments: [
          { filename: 'a', content_base64: half },
          { filename: 'b', content_base64: half },
        ],
      }),
    ),
  ).toEqual(['/attachments']);
  expect(
    paths(parseDispute({ reason_code: 'D01', attachments: [{ filename: 'a', content_base64: 'QUJD RA==' }] })),
  ).toEqual(['/attachments/0/content_base64']);
  expect(
    paths(parseDispute({ reason_code: 'D01', attachments: [{ filename: 'a', content_base64: 'QUJDRA' }] })),
  ).toEqual(['/attachments/0/content_base64']);
  expect(
    paths(parseDispute({ reason_code: 'D01', attachments: [{ filename: 'a/b.pdf', content_base64: 'QUJD' }] })),
  ).toEqual(['/attachments/0/filename']);
  expect(paths(parseDispute({ reason_code: 'D01', attachments: 'x' }))).toEqual(['/attachments']);
});

test('when a comment or decision lacks its note or names something else, then the error says where', () => {
  expect(paths(parseComment({}))).toEqual(['/note']);
  expect(paths(parseComment({ note: 'x', extra: 1 }))).toEqual(['/extra']);
  expect(paths(parseComment('note'))).toEqual(['']);
  expect(paths(parseDecision({ decision: 'maybe' }))).toEqual(['/decision', '/note']);
  expect(parseDecision({ decision: 'upheld', note: ' ok ' }).value).toEqual({ decision: 'upheld', note: 'ok' });
});

test('when a file has no known extension, then it is application/octet-stream', () => {
  expect(contentTypeOf('回单.xlsx')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  expect(contentTypeOf('noext')).toBe('application/octet-stream');
});

test("when a party acts, the ops channels and other parties hear it; when the agency or ops act, only the parties' callbacks do", () => {
  const ops = { owner_client_id: null },
    picc = { owner_client_id: 'picc-dh' },
    cpic = { owner_client_id: 'cpic-dh' };
  const insurer = { client_id: 'picc-dh', role: 'insurer' },
    agency = { client_id: 'dehong-agency', role: 'agency' },
    opsActor = { client_id: 'ops', role: 'ops' };
  expect([hearsStep(ops, insurer), hearsStep(picc, insurer), hearsStep(cpic, insurer)]).toEqual([true, false, true]);
  expect([hearsStep(ops, agency), hearsStep(picc, agency)]).toEqual([false, true]);
  expect([hearsStep(ops, opsActor), hearsStep(picc, opsActor)]).toEqual([false, true]);
});
