// The parsers on the real benchmark files of shared/data/nlp-eval/: row counts, label distributions and rows
// checked by hand against the files (and against the data's README, which lists the counts).
import { describe, expect, it } from 'vitest';
import { dataFile, NEEDS_DATA, NLP_EVAL_DATA } from '../test-data';
import { parseArc } from './arc';
import { parseBoolq } from './boolq';
import { parseMmlu } from './mmlu';
import { parseOpenbookqa } from './openbookqa';
import { parsePiqa } from './piqa';
import { parseSiqa } from './siqa';
import { parseWinogrande } from './winogrande';

const count = <T>(values: readonly T[]) => {
  const out = new Map<T, number>();
  values.forEach((v) => out.set(v, (out.get(v) ?? 0) + 1));
  return Object.fromEntries(out);
};

describe.skipIf(!NLP_EVAL_DATA)(`parsers on the official files${NEEDS_DATA}`, () => {
  it('ARC-Easy: 2376 questions, letter and number labels, 3 to 5 choices', () => {
    const docs = parseArc(dataFile('arc_easy/ARC-Easy-Test.jsonl'), 'ARC-Easy-Test.jsonl');
    expect(docs).toHaveLength(2376);
    expect(new Set(docs.map((d) => d.id)).size).toBe(2376);
    expect(count(docs.map((d) => d.choices.label.join('')))).toEqual({ ABCD: 2268, '1234': 97, ABC: 7, ABCDE: 4 });
    expect(docs[0]).toEqual({
      id: 'Mercury_417466',
      question: 'Which statement best explains why photosynthesis is the foundation of most food webs?',
      choices: {
        text: [
          'Sunlight is the source of energy for nearly all ecosystems.',
          'Most ecosystems are found on land instead of in water.',
          'Carbon dioxide is more available than other gases.',
          'The producers in all ecosystems are plants.',
        ],
        label: ['A', 'B', 'C', 'D'],
      },
      answerKey: 'A',
    });
    expect(docs[14]).toMatchObject({
      id: 'NYSEDREGENTS_2015_8_28',
      choices: { label: ['1', '2', '3', '4'] },
      answerKey: '2',
    });
    expect(docs[500].choices.text).toEqual(['nitrogen', 'oxygen', 'carbon dioxide', 'hydrogen', 'water vapor']);
  });

  it('ARC-Challenge: 1172 questions, 22 with number labels, the first as published', () => {
    const docs = parseArc(dataFile('arc_challenge/ARC-Challenge-Test.jsonl'), 'ARC-Challenge-Test.jsonl');
    expect(docs).toHaveLength(1172);
    expect(docs.filter((d) => d.choices.label[0] === '1')).toHaveLength(22);
    expect(docs[0]).toMatchObject({ id: 'Mercury_7175875', answerKey: 'C' });
    expect(docs[0].question).toMatch(/^An astronomer observes that a planet rotates faster/);
  });

  it('PIQA: 1838 rows with their labels (910 zeros, 928 ones); texts kept byte for byte', () => {
    const docs = parsePiqa(
      dataFile('piqa/valid.jsonl'),
      'valid.jsonl',
      dataFile('piqa/valid-labels.lst'),
      'valid-labels.lst',
    );
    expect(docs).toHaveLength(1838);
    expect(count(docs.map((d) => d.label))).toEqual({ 0: 910, 1: 928 });
    expect(docs[0]).toMatchObject({ goal: "How do I ready a guinea pig cage for it's new occupants?", label: 0 });
    // Trailing and doubled spaces stay: the harness scores " " + sol as it is.
    expect(docs[1]).toEqual({
      goal: 'dresser',
      sol1: 'replace drawer with bobby pin ',
      sol2: 'finish, woodgrain with  bobby pin ',
      label: 1,
    });
  });

  it('BoolQ: 3270 rows rebuilt into SuperGLUE fields (passage = title -- passage, label = answer)', () => {
    const docs = parseBoolq(dataFile('boolq/dev.jsonl'), 'dev.jsonl');
    expect(docs).toHaveLength(3270);
    expect(count(docs.map((d) => d.label))).toEqual({ 1: 2033, 0: 1237 });
    expect(docs[0].question).toBe('does ethanol take more energy make that produces');
    expect(docs[0].label).toBe(0);
    expect(docs[0].passage.startsWith('Ethanol fuel -- All biomass goes through at least some of these steps')).toBe(
      true,
    );
    expect(docs[0].passage).toHaveLength('Ethanol fuel -- '.length + 1368);
    // Raw UTF-8 (IPA) decoded as such.
    expect(docs[5].passage.startsWith("Barq's -- Barq's /ˈbɑːrks/ is an American soft drink.")).toBe(true);
  });

  it('WinoGrande: 1267 rows whose answers agree with the label file (628 ones, 639 twos)', () => {
    const docs = parseWinogrande(
      dataFile('winogrande/dev.jsonl'),
      'dev.jsonl',
      dataFile('winogrande/dev-labels.lst'),
      'dev-labels.lst',
    );
    expect(docs).toHaveLength(1267);
    expect(count(docs.map((d) => d.answer))).toEqual({ 1: 628, 2: 639 });
    expect(docs[0]).toEqual({
      qID: '3FCO4VKOZ4BJQ6IFC0VAIBK4KTWE7U-2',
      sentence: 'Sarah was a much better surgeon than Maria so _ always got the easier cases.',
      option1: 'Sarah',
      option2: 'Maria',
      answer: '2',
    });
  });

  it('Social IQa: 1954 rows with labels 1-3 (643, 654, 657)', () => {
    const docs = parseSiqa(dataFile('siqa/dev.jsonl'), 'dev.jsonl', dataFile('siqa/dev-labels.lst'), 'dev-labels.lst');
    expect(docs).toHaveLength(1954);
    expect(count(docs.map((d) => d.label))).toEqual({ 1: 643, 2: 654, 3: 657 });
    expect(docs[1]).toEqual({
      context:
        'Sydney walked past a homeless woman asking for change but did not have any money they could give to her. ' +
        'Sydney felt bad afterwards.',
      question: 'How would you describe Sydney?',
      answerA: 'sympathetic',
      answerB: 'like a person who was unable to help',
      answerC: 'incredulous',
      label: '1',
    });
  });

  it('OpenBookQA: 500 rows; the Choices column split at its (A)-(D) markers', () => {
    const docs = parseOpenbookqa(dataFile('openbookqa/test.tsv'), 'test.tsv');
    expect(docs).toHaveLength(500);
    expect(count(docs.map((d) => d.answerKey))).toEqual({ A: 138, B: 126, C: 132, D: 104 });
    expect(docs[0]).toEqual({
      id: '8-343',
      question_stem:
        'A person wants to start saving money so that they can afford a nice vacation at the end of the year. ' +
        'After looking over their budget and expenses, they decide the best way to save money is to',
      choices: {
        text: [
          'make more phone calls',
          'quit eating lunch out',
          'buy less with monopoly money',
          'have lunch with friends',
        ],
        label: ['A', 'B', 'C', 'D'],
      },
      answerKey: 'B',
    });
    expect(docs[1]).toMatchObject({
      id: '1129',
      question_stem: 'There is most likely going to be fog around:',
      answerKey: 'A',
    });
    expect(docs[1].choices.text).toEqual(['a marsh', 'a tundra', 'the plains', 'a desert']);
  });

  it('MMLU: the six subjects (900 test questions); quoted commas and multi-line fields', () => {
    const sizes = {
      abstract_algebra: 100,
      anatomy: 135,
      astronomy: 152,
      college_physics: 102,
      computer_security: 100,
      philosophy: 311,
    };
    for (const [subject, n] of Object.entries(sizes)) {
      expect(parseMmlu(dataFile(`mmlu/test/${subject}_test.csv`), subject, subject)).toHaveLength(n);
      expect(parseMmlu(dataFile(`mmlu/dev/${subject}_dev.csv`), subject, subject)).toHaveLength(5);
    }
    const algebra = parseMmlu(
      dataFile('mmlu/test/abstract_algebra_test.csv'),
      'abstract_algebra_test.csv',
      'abstract_algebra',
    );
    expect(algebra[0]).toEqual({
      question: 'Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.',
      subject: 'abstract_algebra',
      choices: ['0', '4', '2', '6'],
      answer: 1,
    });
    expect(algebra[2].choices).toEqual(['0', '1', '0,1', '0,4']);
    expect(algebra[2].answer).toBe(3);
    const security = parseMmlu(
      dataFile('mmlu/test/computer_security_test.csv'),
      'computer_security_test.csv',
      'computer_security',
    );
    expect(security[1].question.split('\n')).toEqual([
      expect.stringMatching(
        /^Assume that a TLS connection has been established successfully .* Which of the following attacks does TLS/,
      ),
      '1. An attacker replaying bytes that a client sent earlier.',
      '2. An attacker impersonating the server.',
    ]);
    expect(security[1]).toMatchObject({
      choices: ['True, True', 'False, False', 'True, False', 'False, True'],
      answer: 0,
    });
  });
});
