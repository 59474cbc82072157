// The hub's rows read into docs: HellaSwag's row as its JSONL line; integer labels as numbers, INT64 bigints or
// digit strings; a malformed row is one line naming the file, row and field; a file that is not Parquet.
import { describe, expect, it } from 'vitest';
import { benchDataFailure } from '../testing';
import { parseHellaswag } from '../formats/hellaswag';
import { hellaswagRequests } from '../tasks';
import { readParquetRows } from './parquet';
import { hubRowReader, rowAt } from './rows';
import { parquetFile } from './testing';

const at = rowAt('hub/0000.parquet', 7);

describe('hub rows', () => {
  it("HellaSwag: the hub's row (label a string) gives the doc its JSONL line gives", () => {
    const row = {
      ind: 24,
      activity_label: 'Roof shingle removal',
      ctx_a: 'A man is sitting on a roof.',
      ctx_b: 'he',
      endings: ['is using wrap.', 'is ripping shingles.', 'is holding a rubik.', 'starts pulling up roofing.'],
      label: '3',
    };
    const fromLine = parseHellaswag(new TextEncoder().encode(`${JSON.stringify(row)}\n`), 'h.jsonl');
    expect(hubRowReader('hellaswag')(row, at).requests).toEqual(hellaswagRequests(fromLine[0]));
    benchDataFailure(
      () => hubRowReader('hellaswag')({ ...row, label: '' }, at),
      /row 7: field "label": missing; the test split/,
    );
  });

  it('integer labels: a number, an INT64 bigint or a string of digits; outside the range is an error', () => {
    const piqa = { goal: 'g', sol1: 'a', sol2: 'b' };
    for (const label of [1, 1n, '1']) expect(hubRowReader('piqa')({ ...piqa, label }, at).requests.gold).toBe(1);
    benchDataFailure(
      () => hubRowReader('piqa')({ ...piqa, label: 2n }, at),
      /^hub\/0000\.parquet: row 7: field "label": 2; expected 0 or 1$/,
    );
    benchDataFailure(() => hubRowReader('piqa')({ ...piqa }, at), /field "label": missing; expected 0 or 1$/);
    const mmlu = { question: 'Q?', subject: 'anatomy', choices: ['a', '', 'c', 'd'] };
    expect(hubRowReader('mmlu-anatomy')({ ...mmlu, answer: 3n }, at).requests.gold).toBe(3);
    benchDataFailure(
      () => hubRowReader('mmlu-anatomy')({ ...mmlu, answer: 4n }, at),
      /field "answer": 4; expected an integer from 0 to 3/,
    );
  });

  it('malformed rows name the file, the row and the field', () => {
    const arc = { id: 'x', question: 'Why?', choices: { text: ['a', 'b'], label: ['A', 'B'] }, answerKey: 'B' };
    const read = hubRowReader('arc-easy');
    expect(read(arc, at).requests.gold).toBe(1);
    benchDataFailure(
      () => read({ ...arc, answerKey: 'C' }, at),
      /row 7: field "answerKey": "C" is not a choice label \(A, B\)/,
    );
    benchDataFailure(
      () => read({ ...arc, choices: { text: ['a', 'b'], label: ['A'] } }, at),
      /field "choices.label": has 1 labels for 2/,
    );
    benchDataFailure(
      () => read({ ...arc, choices: { text: ['a', 3], label: ['A', 'B'] } }, at),
      /field "choices.text\[1\]": 3;/,
    );
    benchDataFailure(() => read({ ...arc, question: 5n }, at), /field "question": a bigint \(5\); expected a string/);
    const wino = { sentence: 'A _ b.', option1: 'x', option2: 'y' };
    benchDataFailure(
      () => hubRowReader('winogrande')({ ...wino, answer: '' }, at),
      /"answer": ""; expected "1" or "2" \(the test split/,
    );
    const mmlu = { question: 'Q?', subject: 'anatomy', choices: ['a', 'b', 'c', 'd'], answer: 0 };
    benchDataFailure(
      () => hubRowReader('mmlu-astronomy')(mmlu, at),
      /field "subject": "anatomy" in the file of subject "astronomy"/,
    );
    benchDataFailure(
      () => hubRowReader('mmlu')({ ...mmlu, choices: ['a'] }, at),
      /field "choices": has 1 options; expected 4/,
    );
  });

  it('a file that is not Parquet, or is cut short, is one line naming it', async () => {
    const bytes = parquetFile([{ name: 'goal', kind: 'string', data: ['g'] }]);
    expect(await readParquetRows(bytes, 'f.parquet')).toEqual([{ goal: 'g' }]);
    await expect(readParquetRows(new TextEncoder().encode('<html>not found</html>'), 'f.parquet')).rejects.toThrow(
      /^f\.parquet: not a Parquet file \(22 bytes, no "PAR1" at both ends\)/,
    );
    await expect(readParquetRows(bytes.subarray(0, bytes.length - 10), 'f.parquet')).rejects.toThrow(
      /not a Parquet file/,
    );
  });
});
