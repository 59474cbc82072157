// The harness's templates (tasks.ts) on real questions, loaded through loadBenchmark from a directory laid out
// like shared/data/nlp-eval/; each expected context, continuation and gold index written out by hand from the
// files and the harness's YAML. HellaSwag, whose file is not here, from hand-written rows in its official format.
import { describe, expect, it } from 'vitest';
import { benchmark, loadBenchmark, UnknownBenchError } from './benchmarks';
import { memoryDataSource } from './data-source';
import { directoryDataSource } from './data-source-node';
import { parseHellaswag } from './formats/hellaswag';
import type { Question } from './question';
import { hellaswagPreprocess, hellaswagRequests, mmluDescription } from './tasks';
import { NEEDS_DATA, NLP_EVAL_DATA } from './test-data';

/** The choices' (text, context, continuation) as three lists. */
const parts = (q: Question) => ({
  texts: q.choices.map((c) => c.text),
  contexts: [...new Set(q.choices.map((c) => c.context))],
  continuations: q.choices.map((c) => c.continuation),
});

describe.skipIf(!NLP_EVAL_DATA)(`templates on the real files${NEEDS_DATA}`, () => {
  const source = () => directoryDataSource(NLP_EVAL_DATA!);

  it('ARC: "Question: {{question}}\\nAnswer:", " " + each choice, gold = index of answerKey (A-E or 1-5)', async () => {
    const questions = await loadBenchmark(source(), 'arc-easy');
    expect(questions).toHaveLength(2376);
    const [first] = questions;
    expect(first).toMatchObject({ bench: 'arc-easy', index: 0, gold: 0 });
    expect(parts(first)).toEqual({
      texts: [
        'Sunlight is the source of energy for nearly all ecosystems.',
        'Most ecosystems are found on land instead of in water.',
        'Carbon dioxide is more available than other gases.',
        'The producers in all ecosystems are plants.',
      ],
      contexts: [
        'Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:',
      ],
      continuations: [
        ' Sunlight is the source of energy for nearly all ecosystems.',
        ' Most ecosystems are found on land instead of in water.',
        ' Carbon dioxide is more available than other gases.',
        ' The producers in all ecosystems are plants.',
      ],
    });
    expect(questions[14].gold).toBe(1); // answerKey "2" among labels 1-4
    expect(questions[500].gold).toBe(1); // "B" of five
    const challenge = await loadBenchmark(source(), 'arc-challenge', 3);
    expect(challenge).toHaveLength(3);
    expect(challenge[0].gold).toBe(2); // answerKey "C"
  });

  it('PIQA: "Question: {{goal}}\\nAnswer:", [sol1, sol2], gold = label', async () => {
    const [, q] = await loadBenchmark(source(), 'piqa', 2);
    expect(q.gold).toBe(1);
    expect(parts(q)).toEqual({
      texts: ['replace drawer with bobby pin ', 'finish, woodgrain with  bobby pin '],
      contexts: ['Question: dresser\nAnswer:'],
      continuations: [' replace drawer with bobby pin ', ' finish, woodgrain with  bobby pin '],
    });
  });

  it('BoolQ: "{{passage}}\\nQuestion: {{question}}?\\nAnswer:", ["no", "yes"]', async () => {
    const [q] = await loadBenchmark(source(), 'boolq', 1);
    expect(q.gold).toBe(0);
    const { texts, contexts, continuations } = parts(q);
    expect(texts).toEqual(['no', 'yes']);
    expect(continuations).toEqual([' no', ' yes']);
    expect(contexts).toHaveLength(1);
    expect(contexts[0].startsWith('Ethanol fuel -- All biomass goes through at least some of these steps:')).toBe(true);
    expect(contexts[0].endsWith('\nQuestion: does ethanol take more energy make that produces?\nAnswer:')).toBe(true);
  });

  it('WinoGrande: partial scoring: two contexts (sentence up to "_" + option), one shared continuation', async () => {
    const [q] = await loadBenchmark(source(), 'winogrande', 1);
    expect(q.gold).toBe(1); // answer "2"
    expect(q.choices).toEqual([
      {
        text: 'Sarah was a much better surgeon than Maria so Sarah',
        context: 'Sarah was a much better surgeon than Maria so Sarah',
        continuation: ' always got the easier cases.',
      },
      {
        text: 'Sarah was a much better surgeon than Maria so Maria',
        context: 'Sarah was a much better surgeon than Maria so Maria',
        continuation: ' always got the easier cases.',
      },
    ]);
  });

  it('SIQA: "Q: {{context}} {{question}}\\nA:", [answerA, answerB, answerC], gold = label - 1', async () => {
    const [first, second] = await loadBenchmark(source(), 'siqa', 2);
    expect(first.gold).toBe(2); // label 3
    expect(parts(first).contexts).toEqual([
      "Q: Tracy didn't go home that evening and resisted Riley's attacks. What does Tracy need to do before this?\nA:",
    ]);
    expect(parts(first).continuations).toEqual([' make a new plan', ' Go home and see Riley', ' Find somewhere to go']);
    expect(second.gold).toBe(0);
  });

  it('OpenBookQA: the question stem alone as context, " " + each choice', async () => {
    const [q] = await loadBenchmark(source(), 'openbookqa', 1);
    expect(q.gold).toBe(1);
    expect(parts(q)).toEqual({
      texts: [
        'make more phone calls',
        'quit eating lunch out',
        'buy less with monopoly money',
        'have lunch with friends',
      ],
      contexts: [
        'A person wants to start saving money so that they can afford a nice vacation at the end of the year. ' +
          'After looking over their budget and expenses, they decide the best way to save money is to',
      ],
      continuations: [
        ' make more phone calls',
        ' quit eating lunch out',
        ' buy less with monopoly money',
        ' have lunch with friends',
      ],
    });
  });

  it('MMLU: the subject description, the question and lettered options, " A" .. " D"', async () => {
    const [q] = await loadBenchmark(source(), 'mmlu-abstract_algebra', 1);
    expect(q).toMatchObject({ bench: 'mmlu-abstract_algebra', gold: 1 });
    expect(parts(q)).toEqual({
      texts: ['A', 'B', 'C', 'D'],
      contexts: [
        'The following are multiple choice questions (with answers) about abstract algebra.\n\n' +
          'Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n' +
          'A. 0\nB. 4\nC. 2\nD. 6\nAnswer:',
      ],
      continuations: [' A', ' B', ' C', ' D'],
    });
    expect(mmluDescription('college_physics')).toBe(
      'The following are multiple choice questions (with answers) about college physics.\n\n',
    );
    // "mmlu": every subject in mmlu/test/, in name order (abstract_algebra first, philosophy last).
    const all = await loadBenchmark(source(), 'mmlu');
    expect(all).toHaveLength(900);
    expect(all[0].choices[0].context.startsWith(mmluDescription('abstract_algebra'))).toBe(true);
    expect(all[899].choices[0].context.startsWith(mmluDescription('philosophy'))).toBe(true);
    expect(all.map((x) => x.index)).toEqual([...Array(900).keys()]);
    // --limit applies per task, so per subject: 2 of each of the 6 subjects.
    const limited = await loadBenchmark(source(), 'mmlu', 2);
    expect(limited).toHaveLength(12);
    expect(limited[2].choices[0].context.startsWith(mmluDescription('anatomy'))).toBe(true);
    expect(limited[2].index).toBe(2);
  });

  it("the acc_norm flag follows each task's metric_list", () => {
    const norm = ['arc-easy', 'arc-challenge', 'piqa', 'hellaswag', 'openbookqa'];
    for (const id of [...norm, 'boolq', 'winogrande', 'siqa', 'mmlu', 'mmlu-anatomy']) {
      expect(benchmark(id).metrics).toEqual(norm.includes(id) ? ['acc', 'acc_norm'] : ['acc']);
    }
  });
});

describe('HellaSwag from hand-written rows in the official format', () => {
  // The first validation row as the HellaSwag paper's repository prints it, and a WikiHow-style row.
  const rows = [
    {
      ind: 24,
      activity_label: 'Roof shingle removal',
      ctx_a: 'A man is sitting on a roof.',
      ctx_b: 'he',
      ctx: 'A man is sitting on a roof. he',
      split: 'val',
      split_type: 'indomain',
      label: 3,
      endings: [
        'is using wrap to wrap a pair of skis.',
        'is ripping level tiles off.',
        "is holding a rubik's cube.",
        'starts pulling up roofing on a roof.',
      ],
      source_id: 'activitynet~v_-JhWjGDPHMY',
    },
    {
      ind: 4,
      activity_label: 'Home and Garden',
      ctx_a: '[header] How to grow tomatoes [title] Pick a sunny spot.',
      ctx_b: '',
      ctx: '[header] How to grow tomatoes [title] Pick a sunny spot.',
      split: 'val',
      split_type: 'zeroshot',
      label: '1',
      endings: [' [step] Tomatoes need  six hours of sun. ', 'Water them [substeps] daily.', 'x', 'y'],
      source_id: 'wikihow~1',
    },
  ];
  const file = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

  it('query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()), choices preprocessed', () => {
    const [roof, tomatoes] = parseHellaswag(new TextEncoder().encode(file), 'hellaswag_val.jsonl').map(
      hellaswagRequests,
    );
    expect(roof.gold).toBe(3);
    expect(roof.choices.map((c) => c.context)).toEqual(
      Array(4).fill('Roof shingle removal: A man is sitting on a roof. He'),
    );
    expect(roof.choices[3]).toEqual({
      text: 'starts pulling up roofing on a roof.',
      context: roof.choices[3].context,
      continuation: ' starts pulling up roofing on a roof.',
    });
    // " [title]" -> ". ", brackets removed, double spaces made single, stripped; the string label read as an index.
    expect(tomatoes.gold).toBe(1);
    expect(tomatoes.choices[0].context).toBe('Home and Garden: How to grow tomatoes. Pick a sunny spot.');
    // The strip comes first, so a bracket at the start leaves a space: the harness scores "  Tomatoes ..." after the
    // delimiter, and so do we.
    expect(tomatoes.choices.map((c) => c.text)).toEqual([
      ' Tomatoes need six hours of sun.',
      'Water them daily.',
      'x',
      'y',
    ]);
  });

  it('capitalize lower-cases the rest of ctx_b; preprocess steps in order', () => {
    const [q] = parseHellaswag(
      new TextEncoder().encode(JSON.stringify({ ...rows[0], ctx_b: 'the Man in RED' })),
      'h',
    ).map(hellaswagRequests);
    expect(q.choices[0].context).toBe('Roof shingle removal: A man is sitting on a roof. The man in red');
    // The replacement of " [title]" comes before the bracket removal, so its ". " survives.
    expect(hellaswagPreprocess('  Intro [title] Step one [x] done  ')).toBe('Intro. Step one done');
  });

  it('loads as the "hellaswag" benchmark from hellaswag/hellaswag_val.jsonl', async () => {
    const questions = await loadBenchmark(memoryDataSource({ 'hellaswag/hellaswag_val.jsonl': file }), 'hellaswag');
    expect(questions.map((q) => [q.bench, q.index, q.gold])).toEqual([
      ['hellaswag', 0, 3],
      ['hellaswag', 1, 1],
    ]);
  });
});

describe('benchmark ids and missing files', () => {
  it('unknown ids list the known ones', () => {
    expect(() => benchmark('arc')).toThrow(UnknownBenchError);
    expect(() => benchmark('mmlu-')).toThrow(/unknown benchmark "mmlu-": use one of arc-easy, .* mmlu, mmlu-<subject>/);
    expect(benchmark('mmlu-college_physics').files).toEqual(['mmlu/test/college_physics_test.csv']);
  });

  it('a missing file names the path the data directory must hold', async () => {
    await expect(loadBenchmark(memoryDataSource({}), 'piqa')).rejects.toThrow(
      'memory:piqa/valid.jsonl: missing; the data directory must hold piqa/valid.jsonl ' +
        '(laid out like shared/data/nlp-eval/)',
    );
    await expect(loadBenchmark(memoryDataSource({}), 'mmlu')).rejects.toThrow(
      /mmlu\/test: holds no <subject>_test\.csv file/,
    );
  });
});
