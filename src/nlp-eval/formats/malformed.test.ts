// Malformed benchmark files: every problem is one BenchDataError line that names the file, the line and the
// field, and says what was expected.
import { describe, expect, it } from 'vitest';
import { benchDataFailure } from '../testing';
import { parseArc } from './arc';
import { parseBoolq } from './boolq';
import { parseCsv } from './csv';
import { parseHellaswag } from './hellaswag';
import { parseMmlu } from './mmlu';
import { parseOpenbookqa } from './openbookqa';
import { parsePiqa } from './piqa';
import { parseSiqa } from './siqa';
import { parseWinogrande } from './winogrande';

const bytes = (text: string) => new TextEncoder().encode(text);

const arcRow = (patch: object = {}) =>
  JSON.stringify({
    id: 'q1',
    question: {
      stem: 'Which?',
      choices: [
        { text: 'a', label: 'A' },
        { text: 'b', label: 'B' },
      ],
    },
    answerKey: 'A',
    ...patch,
  });

describe('malformed files', () => {
  it('JSONL: a line that is not JSON, or not an object, names its line', () => {
    const e = benchDataFailure(
      () => parseArc(bytes(`${arcRow()}\n{"id": "q2", "question":\n`), 'arc.jsonl'),
      /^arc\.jsonl:2: not valid JSON \(.*\); expected one JSON object per line$/,
    );
    expect([e.file, e.line, e.field]).toEqual(['arc.jsonl', 2, null]);
    benchDataFailure(() => parseArc(bytes(`${arcRow()}\n[1, 2]\n`), 'arc.jsonl'), /^arc\.jsonl:2: not a JSON object/);
  });

  it('a blank line in the middle shifts labels, so it is an error; CRLF and one final newline are fine', () => {
    benchDataFailure(() => parseArc(bytes(`${arcRow()}\n\n${arcRow()}\n`), 'arc.jsonl'), /^arc\.jsonl:2: empty line/);
    expect(parseArc(bytes(`${arcRow()}\r\n${arcRow()}\r\n`), 'arc.jsonl')).toHaveLength(2);
  });

  it('not UTF-8', () => {
    benchDataFailure(
      () => parseBoolq(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), 'dev.jsonl'),
      /^dev\.jsonl: not valid UTF-8 text/,
    );
  });

  it('ARC: missing or mistyped fields, bad labels, an answer key that is no label', () => {
    benchDataFailure(
      () => parseArc(bytes(arcRow({ id: 7 })), 'a.jsonl'),
      /^a\.jsonl:1: field "id": a number \(7\); expected a string$/,
    );
    benchDataFailure(
      () => parseArc(bytes(arcRow({ question: 'Which?' })), 'a.jsonl'),
      /^a\.jsonl:1: field "question": a string .*; expected an object$/,
    );
    benchDataFailure(
      () => parseArc(bytes(arcRow({ question: { choices: [] } })), 'a.jsonl'),
      /field "question\.stem": missing; expected a string$/,
    );
    const badLabel = {
      stem: 'Which?',
      choices: [
        { text: 'a', label: 'A' },
        { text: 'b', label: 'F' },
      ],
    };
    benchDataFailure(
      () => parseArc(bytes(arcRow({ question: badLabel })), 'a.jsonl'),
      /field "question\.choices\[1\]\.label": "F"; expected A-E or 1-5$/,
    );
    const noText = { stem: 'Which?', choices: [{ text: 'a', label: 'A' }, { label: 'B' }] };
    benchDataFailure(
      () => parseArc(bytes(arcRow({ question: noText })), 'a.jsonl'),
      /field "question\.choices\[1\]\.text": missing/,
    );
    benchDataFailure(
      () => parseArc(bytes(arcRow({ answerKey: 'C' })), 'a.jsonl'),
      /^a\.jsonl:1: field "answerKey": "C" is not a choice label \(A, B\)$/,
    );
  });

  it('label lists: a label out of range, or a count that does not match the data', () => {
    const piqa = `${JSON.stringify({ goal: 'g', sol1: 'a', sol2: 'b' })}\n`.repeat(2);
    benchDataFailure(
      () => parsePiqa(bytes(piqa), 'valid.jsonl', bytes('0\n2\n'), 'valid-labels.lst'),
      /^valid-labels\.lst:2: field "label": "2" is not one of 0, 1$/,
    );
    benchDataFailure(
      () => parsePiqa(bytes(piqa), 'valid.jsonl', bytes('0\n'), 'valid-labels.lst'),
      /^valid-labels\.lst: has 1 labels but valid\.jsonl has 2 rows; they must be the matching pair of files$/,
    );
    const siqa = `${JSON.stringify({ context: 'c', question: 'q', answerA: 'a', answerB: 'b', answerC: 'c' })}\n`;
    benchDataFailure(
      () => parseSiqa(bytes(siqa), 'dev.jsonl', bytes('0\n'), 'dev-labels.lst'),
      /^dev-labels\.lst:1: field "label": "0" is not one of 1, 2, 3$/,
    );
    const blank = siqa.replace('"answerC":"c"', '"answerC":" "');
    benchDataFailure(
      () => parseSiqa(bytes(blank), 'dev.jsonl', bytes('1\n'), 'dev-labels.lst'),
      /^dev\.jsonl:1: field "answerC": empty; expected text$/,
    );
  });

  it('BoolQ: answer must be a boolean', () => {
    const row = JSON.stringify({ question: 'is it', title: 'T', answer: 'yes', passage: 'p' });
    benchDataFailure(
      () => parseBoolq(bytes(row), 'dev.jsonl'),
      /^dev\.jsonl:1: field "answer": "yes"; expected true or false$/,
    );
  });

  it('WinoGrande: no blank in the sentence, or an answer that disagrees with the label file', () => {
    const row = (sentence: string, answer = '1') =>
      `${JSON.stringify({ qID: 'x', sentence, option1: 'A', option2: 'B', answer })}\n`;
    benchDataFailure(
      () => parseWinogrande(bytes(row('No blank here.')), 'dev.jsonl', bytes('1\n'), 'dev-labels.lst'),
      /^dev\.jsonl:1: field "sentence": has no "_"/,
    );
    benchDataFailure(
      () => parseWinogrande(bytes(row('A _ b.', '2')), 'dev.jsonl', bytes('1\n'), 'dev-labels.lst'),
      /^dev\.jsonl:1: field "answer": "2" disagrees with line 1 of dev-labels\.lst \("1"\)$/,
    );
  });

  it('HellaSwag: endings, and the unlabelled test split', () => {
    const row = (patch: object) =>
      JSON.stringify({
        ind: 1,
        activity_label: 'A',
        ctx_a: 'x.',
        ctx_b: 'y',
        label: 0,
        endings: ['a', 'b', 'c', 'd'],
        ...patch,
      });
    benchDataFailure(
      () => parseHellaswag(bytes(row({ endings: ['a', 'b'] })), 'h.jsonl'),
      /^h\.jsonl:1: field "endings": has 2 endings; expected 4$/,
    );
    benchDataFailure(
      () => parseHellaswag(bytes(row({ endings: ['a', 'b', 3, 'd'] })), 'h.jsonl'),
      /field "endings\[2\]": 3; expected a non-empty string$/,
    );
    benchDataFailure(
      () => parseHellaswag(bytes(row({ label: undefined })), 'h.jsonl'),
      /field "label": missing; the test split has no labels, use the validation file/,
    );
    benchDataFailure(
      () => parseHellaswag(bytes(row({ label: '4' })), 'h.jsonl'),
      /field "label": "4"; expected 0, 1, 2 or 3$/,
    );
  });

  it('OpenBookQA: header, field count, choices markers, answer key', () => {
    const header = 'ID\tQuestion Stem\tChoices\tComplete Question\tAnswer Key\n';
    const row = (choices: string, key = 'A') => `${header}7\tWhy?\t${choices}\tWhy? ${choices}\t${key}\n`;
    benchDataFailure(
      () => parseOpenbookqa(bytes('ID\tStem\n1\tx\n'), 't.tsv'),
      /^t\.tsv:1: field "Question Stem": column missing from the header/,
    );
    benchDataFailure(
      () => parseOpenbookqa(bytes(`${header}7\tWhy?\n`), 't.tsv'),
      /^t\.tsv:2: has 2 tab-separated fields, the header 5$/,
    );
    benchDataFailure(
      () => parseOpenbookqa(bytes(row('(A) a (B) b (D) d')), 't.tsv'),
      /^t\.tsv:2: field "Choices": no "\(C\)" after the previous choice/,
    );
    benchDataFailure(
      () => parseOpenbookqa(bytes(row('a (B) b (C) c (D) d')), 't.tsv'),
      /field "Choices": does not start with "\(A\) "/,
    );
    benchDataFailure(
      () => parseOpenbookqa(bytes(row('(A) a (B) b (C) c (D) d', 'E')), 't.tsv'),
      /^t\.tsv:2: field "Answer Key": "E"; expected A, B, C or D$/,
    );
  });

  it('MMLU: the field count, the answer letter, a header row', () => {
    benchDataFailure(
      () => parseMmlu(bytes('Q,a,b,c,d,A\nQ2,a,b,c,A\n'), 's_test.csv', 'anatomy'),
      /^s_test\.csv:2: has 5 fields; expected 6 \(question,A,B,C,D,answer\), no header$/,
    );
    benchDataFailure(
      () => parseMmlu(bytes('question,A,B,C,D,answer\n'), 's_test.csv', 'anatomy'),
      /^s_test\.csv:1: field "answer": "answer"; expected A, B, C or D$/,
    );
    benchDataFailure(
      () => parseMmlu(bytes('"Q\nstill Q",a,b,c,d,A\nQ2,a,b,c,d,E\n'), 's_test.csv', 'anatomy'),
      /^s_test\.csv:3: field "answer": "E"/,
    );
  });

  it('CSV: unclosed quotes, stray quotes, text after a closing quote, with the line they start on', () => {
    benchDataFailure(() => parseCsv('a,b\n"open,c\nd\n', 'x.csv'), /^x\.csv:2: a quoted field is never closed/);
    benchDataFailure(() => parseCsv('a,b"c\n', 'x.csv'), /^x\.csv:1: a quote inside unquoted field 2$/);
    benchDataFailure(() => parseCsv('"a"b,c\n', 'x.csv'), /^x\.csv:1: text after a closing quote in field 1$/);
  });
});
