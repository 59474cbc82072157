/**
 * Every row of the obs2text decision tables (spec environments.md B.7 Food Preparation, B.8 Entertainment), the
 * sic quirks as reached by play, and the unseen variants' substitutions (B.9).
 */
import { describe, expect, it } from 'vitest';
import { FP, ENT } from './observation';
import { PANCAKE_WORDS, makeFoodPreparationText } from './food-preparation-text';
import { entertainmentText } from './entertainment-text';
import { createVirtualHomeEnv, globalActionTexts } from './index';
import { ENT_SNACKS_TO_LIVING_ROOM, play, playAll, resetAndPlay } from '../testing';

// ------------------------------------------------------------------------------------------------ B.7

const fpText = makeFoodPreparationText(PANCAKE_WORDS);
const FP_ROOM = (r: string) =>
  `There are four rooms: the kitchen, bathroom, bedroom, and living room. You are in the ${r}. `;
const FP_GOAL = 'In order to heat up the pancake in the microwave, your next step is to';
const NOTICE = 'You notice pancake and microwave. ';
const HOLDING = 'Currently, you have grabbed the pancake in hand. ';
const OPENED = 'The microwave is opened. ';
const NOT_OPEND = 'The microwave is not opend. ';

interface FpFlags {
  see?: boolean;
  hold?: boolean;
  cp?: boolean;
  cm?: boolean;
  open?: boolean;
}
function fpKitchen(f: FpFlags): number {
  let b = FP.inKitchen | FP.seeMicrowave;
  if (f.see) b |= FP.seePancake;
  if (f.hold) b |= FP.holdPancake | FP.closeToPancake;
  if (f.cp) b |= FP.closeToPancake;
  if (f.cm) b |= FP.closeToMicrowave;
  if (f.open) b |= FP.microwaveOpen;
  return b;
}

describe('B.7 Food Preparation text', () => {
  const cases: [string, FpFlags, string, number[]][] = [];
  for (const open of [true, false]) {
    const op = open ? OPENED : NOT_OPEND;
    cases.push(
      [
        `hold, close to microwave, open=${open}`,
        { see: true, hold: true, cm: true, open },
        NOTICE + HOLDING + 'The microwave is close to you. ' + op,
        [0, 2, 3, 4, 7, 8, 9],
      ],
      [
        `hold, not close to microwave, open=${open}`,
        { see: true, hold: true, open },
        NOTICE + HOLDING + 'The microwave is not close to you. ' + op,
        [0, 2, 3, 4, 5],
      ],
      [
        `empty, close to pancake only, open=${open}`,
        { see: true, cp: true, open },
        NOTICE + 'Currently, you are not grabbing anything in hand. The pancake is close to you. ' + op,
        [0, 2, 3, 5, 6],
      ],
      [
        `empty, close to microwave only, open=${open}`,
        { see: true, cm: true, open },
        NOTICE + 'Currently, you are not grabbing anything in hand. The microwave is close to you. ' + op,
        [0, 2, 3, 4, 8, 9],
      ],
      [
        `empty, close to neither, open=${open}`,
        { see: true, open },
        NOTICE +
          'Currently, you are not grabbing anything in hand. The pancake and the microwave are not close to you. ' +
          op,
        [0, 2, 3, 4, 5],
      ],
    );
  }
  cases.push(
    ['empty, close to both, open', { see: true, cp: true, cm: true, open: true }, NOTICE + OPENED, [0, 2, 3, 8, 9]],
    ['empty, close to both, closed', { see: true, cp: true, cm: true }, NOTICE + NOT_OPEND, [0, 2, 3, 9]],
    [
      'pancake unseen, close to microwave',
      { cm: true },
      'The pancake is in the microwave. Currently, you are not grabbing anything in hand. The microwave is close to you. The microwave is closed. ',
      [0, 2, 3],
    ],
    [
      'pancake unseen, not close',
      {},
      'The pancake is in the microwave. Currently, you are not grabbing anything in hand. The pancake and the microwave are not close to you. The microwave is closed. ',
      [0, 2, 3],
    ],
  );

  it.each(cases)('kitchen: %s', (_name, flags, objectText, actions) => {
    const v = fpText(fpKitchen(flags));
    expect(v.prompt).toBe(FP_ROOM('kitchen') + objectText + FP_GOAL);
    expect([...v.actionIds]).toEqual(actions);
  });

  it.each([
    ['bathroom', FP.inBathroom, [0, 1, 3]],
    ['bedroom', FP.inBedroom, [0, 1, 2]],
    ['living room', FP.inLivingRoom, [1, 2, 3]],
  ] as const)('%s (sic: "... You are in the %s. and notice nothing useful.")', (room, bit, actions) => {
    const empty = fpText(bit);
    expect(empty.prompt).toBe(
      FP_ROOM(room) + 'and notice nothing useful. Currently, you are not grabbing anything in hand. ' + FP_GOAL,
    );
    expect([...empty.actionIds]).toEqual(actions);
    const holding = fpText(bit | FP.seePancake | FP.closeToPancake | FP.holdPancake);
    expect(holding.prompt).toBe(FP_ROOM(room) + 'and notice nothing useful. ' + HOLDING + FP_GOAL);
    expect([...holding.actionIds]).toEqual(actions);
  });

  it('the initial prompt, verbatim', () => {
    const env = createVirtualHomeEnv('food-preparation');
    expect(env.reset()).toEqual({
      prompt:
        'There are four rooms: the kitchen, bathroom, bedroom, and living room. You are in the kitchen. You notice pancake and microwave. Currently, you are not grabbing anything in hand. The pancake and the microwave are not close to you. The microwave is not opend. In order to heat up the pancake in the microwave, your next step is to',
      actions: [
        'walk to the living room',
        'walk to the bathroom',
        'walk to the bedroom',
        'walk to the pancake',
        'walk to the microwave',
      ],
    });
  });

  it('stale room: "walk to the pancake" while holding it can leave the kitchen', () => {
    const env = resetAndPlay(createVirtualHomeEnv('food-preparation'), [
      'walk to the pancake',
      'grab the pancake',
      'walk to the living room',
      'walk to the kitchen',
    ]);
    play(env, 'walk to the pancake');
    expect(env.render().agent.room).toBe('living room');
    expect(env.render().lastAction).toEqual({ text: 'walk to the pancake', succeeded: true });
  });
});

// ------------------------------------------------------------------------------------------------ B.8

const ENT_ROOM = (r: string) =>
  `There are four rooms: the kitchen, bathroom, bedroom, and living room. You are in the ${r} `;
const ENT_GOAL = 'In order to enjoy the chips and the milk while watching TV, your next step is to';
const HP = {
  both: 'Currently, you have grabbed the chips and the milk in hand. ',
  milk: 'Currently, you have grabbed the milk in hand. ',
  chips: 'Currently, you have grabbed the chips in hand. ',
  none: 'Currently, you are not grabbing anything in hand. ',
};

interface EntFlags {
  sc?: boolean;
  sm?: boolean;
  hc?: boolean;
  hm?: boolean;
  cc?: boolean;
  cm?: boolean;
  coc?: boolean;
  moc?: boolean;
  ctab?: boolean;
  ctv?: boolean;
  csofa?: boolean;
  sit?: boolean;
  on?: boolean;
}
function ent(room: number, f: EntFlags): number {
  let b = room;
  if (f.sc || f.hc || f.cc || f.coc) b |= ENT.seeChips;
  if (f.sm || f.hm || f.cm || f.moc) b |= ENT.seeMilk;
  if (f.hc) b |= ENT.holdChips | ENT.closeToChips;
  if (f.hm) b |= ENT.holdMilk | ENT.closeToMilk;
  if (f.cc) b |= ENT.closeToChips;
  if (f.cm) b |= ENT.closeToMilk;
  if (f.coc) b |= ENT.chipsOnTable;
  if (f.moc) b |= ENT.milkOnTable;
  if (room === ENT.inLivingRoom) b |= ENT.seeTv | ENT.seeSofa | ENT.seeCoffeeTable;
  if (f.ctab) b |= ENT.closeToCoffeeTable;
  if (f.ctv) b |= ENT.closeToTv;
  if (f.csofa) b |= ENT.closeToSofa;
  if (f.sit) b |= ENT.sitSofa | ENT.faceTv;
  if (f.on) b |= ENT.tvOn;
  return b;
}

describe('B.8 Entertainment text', () => {
  const BOTH = 'and notice chips and milk. ';
  const NEAR = {
    chips: 'The chips are close to you. But you have not grabbed the chips. ',
    milk: 'The milk is close to you. But you have not grabbed the milk. ',
  };
  const FAR = { chips: 'The chips are not close to you. ', milk: 'The milk is not close to you. ' };
  const kitchen: [string, EntFlags, string, number[]][] = [
    ['sc sm hc hm', { sc: true, sm: true, hc: true, hm: true }, BOTH + HP.both, [0, 2, 3]],
    ['sc sm hc ¬hm cm', { sc: true, sm: true, hc: true, cm: true }, BOTH + NEAR.milk + HP.chips, [0, 2, 3, 10]],
    ['sc sm hc ¬hm ¬cm', { sc: true, sm: true, hc: true }, BOTH + FAR.milk + HP.chips, [0, 2, 3, 5]],
    ['sc sm ¬hc hm cc', { sc: true, sm: true, hm: true, cc: true }, BOTH + NEAR.chips + HP.milk, [0, 2, 3, 9]],
    ['sc sm ¬hc hm ¬cc', { sc: true, sm: true, hm: true }, BOTH + FAR.chips + HP.milk, [0, 2, 3, 4]],
    [
      'sc sm empty cc cm (sic "the them")',
      { sc: true, sm: true, cc: true, cm: true },
      BOTH + 'They are close to you. But you have not grabbed the them. ' + HP.none,
      [0, 2, 3, 9, 10],
    ],
    ['sc sm empty cc ¬cm', { sc: true, sm: true, cc: true }, BOTH + NEAR.chips + HP.none, [0, 2, 3, 5, 9]],
    ['sc sm empty ¬cc cm', { sc: true, sm: true, cm: true }, BOTH + NEAR.milk + HP.none, [0, 2, 3, 4, 10]],
    [
      'sc sm empty ¬cc ¬cm',
      { sc: true, sm: true },
      BOTH + 'But they are not close to you. ' + HP.none,
      [0, 2, 3, 4, 5],
    ],
    ['sc ¬sm hc', { hc: true }, 'and only notice chips. ' + HP.chips, [0, 2, 3]],
    ['sc ¬sm ¬hc cc', { cc: true }, 'and only notice chips. ' + NEAR.chips, [0, 2, 3, 9]],
    ['sc ¬sm ¬hc ¬cc (sic: walk to the milk)', { sc: true }, 'and only notice chips. ' + FAR.chips, [0, 2, 3, 5]],
    ['¬sc sm hm', { hm: true }, 'and notice milk. ' + HP.milk, [0, 2, 3]],
    ['¬sc sm ¬hm cm', { cm: true }, 'and notice milk. ' + NEAR.milk, [0, 2, 3, 10]],
    ['¬sc sm ¬hm ¬cm (sic: walk to the chips)', { sm: true }, 'and notice milk. ' + FAR.milk, [0, 2, 3, 4]],
    ['¬sc ¬sm', {}, 'and notice nothing. ', [0, 2, 3]],
  ];
  it.each(kitchen)('kitchen: %s', (_name, flags, objectText, actions) => {
    const v = entertainmentText(ent(ENT.inKitchen, flags));
    expect(v.prompt).toBe(ENT_ROOM('kitchen') + objectText + ENT_GOAL);
    expect([...v.actionIds]).toEqual(actions);
  });

  const hands: [string, EntFlags, string][] = [
    ['both', { hc: true, hm: true }, HP.both],
    ['milk', { hm: true }, HP.milk],
    ['chips', { hc: true }, HP.chips],
    ['none', {}, HP.none],
  ];
  it.each(hands)('bedroom and bathroom: "and notice nothing. " + HP (%s)', (_name, flags, hp) => {
    const bed = entertainmentText(ent(ENT.inBedroom, flags));
    expect(bed.prompt).toBe(ENT_ROOM('bedroom') + 'and notice nothing. ' + hp + ENT_GOAL);
    expect([...bed.actionIds]).toEqual([0, 1, 2]);
    const bath = entertainmentText(ent(ENT.inBathroom, flags));
    expect(bath.prompt).toBe(ENT_ROOM('bathroom') + 'and notice nothing. ' + hp + ENT_GOAL);
    expect([...bath.actionIds]).toEqual([0, 1, 3]);
  });

  const LR = 'and you notice a coffee table, a TV and a sofa. ';
  const TV_ON = (s: string) => s.replaceAll('Currently, you have', 'Currently, the TV is turned on, you have');
  const HT = {
    both: HP.both,
    milk: HP.milk,
    milkChipsOnTable: 'Currently, you have the chips on the coffee table and the milk in your hand. ',
    chips: HP.chips + HP.chips, // sic: twice
    chipsMilkOnTable: HP.chips + 'Currently, you have the milk on the coffee table and the chips in your hand. ',
    none: '',
  };
  const living: [string, EntFlags, string, number[]][] = [
    ...hands.map(([n, f, hp]): [string, EntFlags, string, number[]] => [
      `none close, ${n}`,
      f,
      'They are not close to you. ' + hp,
      [1, 2, 3, 6, 7, 8],
    ]),
    [
      'ctab, both',
      { ctab: true, hc: true, hm: true },
      'The coffee table is close to you. ' + HT.both,
      [1, 2, 3, 7, 8, 11, 12],
    ],
    ['ctab, milk', { ctab: true, hm: true }, 'The coffee table is close to you. ' + HT.milk, [1, 2, 3, 7, 8, 12]],
    [
      'ctab, milk, chips on table (sic "The TV is not close")',
      { ctab: true, hm: true, coc: true },
      'The TV is not close to you. ' + HT.milkChipsOnTable,
      [1, 2, 3, 7, 8],
    ],
    [
      'ctab, chips (sic doubled)',
      { ctab: true, hc: true },
      'The coffee table is close to you. ' + HT.chips,
      [1, 2, 3, 7, 8, 11],
    ],
    [
      'ctab, chips, milk on table (sic "The TV is not close")',
      { ctab: true, hc: true, moc: true },
      'The TV is not close to you. ' + HT.chipsMilkOnTable,
      [1, 2, 3, 7, 8],
    ],
    ['ctab, empty', { ctab: true }, 'The coffee table is close to you. ' + HP.none, [1, 2, 3]],
    [
      'ctab, empty, both on table',
      { ctab: true, coc: true, moc: true },
      'The coffee table is close to you. ' + HP.none,
      [1, 2, 3],
    ],
  ];
  const htCases: [string, EntFlags, string][] = [
    ['both', { hc: true, hm: true }, HT.both],
    ['milk', { hm: true }, HT.milk],
    ['milk, chips on table', { hm: true, coc: true }, HT.milkChipsOnTable],
    ['chips', { hc: true }, HT.chips],
    ['chips, milk on table', { hc: true, moc: true }, HT.chipsMilkOnTable],
    ['empty', {}, HT.none],
  ];
  for (const [n, f, ht] of htCases) {
    living.push(
      [
        `ctv, on, ${n} (sic "The sofa is not close")`,
        { ...f, ctv: true, on: true },
        'The sofa is not close to you. ' + TV_ON(ht),
        [1, 2, 3, 6, 8],
      ],
      [`ctv, off, ${n}`, { ...f, ctv: true }, 'The TV is close to you. ' + ht, [1, 2, 3, 6, 8, 13, 14]],
      [
        `csofa, not sitting, on, ${n}`,
        { ...f, csofa: true, on: true },
        'The sofa is close to you. ' + TV_ON(ht),
        [1, 2, 3, 6, 7, 15, 16],
      ],
      [`csofa, not sitting, off, ${n}`, { ...f, csofa: true }, 'The sofa is close to you. ' + ht, [1, 2, 3, 6, 7]],
      [
        `csofa, sitting, on, ${n}`,
        { ...f, csofa: true, sit: true, on: true },
        'You are sitting on the sofa. ' + TV_ON(ht),
        [1, 2, 3],
      ],
      [`csofa, sitting, off, ${n}`, { ...f, csofa: true, sit: true }, 'You are sitting on the sofa. ' + ht, [1, 2, 3]],
    );
  }
  it.each(living)('living room: %s', (_name, flags, objectText, actions) => {
    const v = entertainmentText(ent(ENT.inLivingRoom, flags));
    expect(v.prompt).toBe(ENT_ROOM('living room') + LR + objectText + ENT_GOAL);
    expect([...v.actionIds]).toEqual(actions);
  });

  it('HTV prefixes both sentences of the doubled chips phrase', () => {
    const v = entertainmentText(ent(ENT.inLivingRoom, { hc: true, csofa: true, on: true }));
    expect(v.prompt).toContain(
      'The sofa is close to you. Currently, the TV is turned on, you have grabbed the chips in hand. Currently, the TV is turned on, you have grabbed the chips in hand. ',
    );
  });
});

// ------------------------------------------------------------------------------------------------ quirks in play

describe('Entertainment quirks reached by play', () => {
  it('the sofa trap: sitting offers only room walks, which fail until the horizon', () => {
    // "sit on the sofa" is offered only once the TV is on; sitting down without the chips and the milk traps.
    const env = resetAndPlay(createVirtualHomeEnv('entertainment'), [
      'walk to the living room',
      'walk to the TV',
      'turn on the TV',
      'walk to the sofa',
      'sit on the sofa',
    ]);
    const o = env.observe();
    expect(o.actions).toEqual(['walk to the kitchen', 'walk to the bathroom', 'walk to the bedroom']);
    expect(o.prompt).toContain('You are sitting on the sofa. ');
    const key = env.stateKey();
    let r;
    do {
      r = env.step(env.stepCount % 3);
      expect(env.render().lastAction!.succeeded).toBe(false);
      expect(env.stateKey()).toBe(key);
    } while (!r.done);
    expect(r.success).toBe(false);
    expect(env.stepCount).toBe(50);
  });

  it('"stand up from the sofa" and "turn off the TV" are offered only when they must fail', () => {
    const env = resetAndPlay(createVirtualHomeEnv('entertainment'), ['walk to the living room', 'walk to the TV']);
    play(env, 'turn off the TV');
    expect(env.render().lastAction).toEqual({ text: 'turn off the TV', succeeded: false });
    play(env, 'turn on the TV');
    expect(env.observe().actions).not.toContain('turn off the TV');
    play(env, 'walk to the sofa');
    play(env, 'stand up from the sofa');
    expect(env.render().lastAction).toEqual({ text: 'stand up from the sofa', succeeded: false });
  });

  it('wrong walk index: with only the chips in view, "walk to the milk" is offered and fails', () => {
    const env = resetAndPlay(createVirtualHomeEnv('entertainment'), [
      'walk to the milk',
      'grab the milk',
      'walk to the living room',
      'walk to the coffee table',
      'put the milk on the coffee table',
      'walk to the kitchen',
    ]);
    const o = env.observe();
    expect(o.prompt).toBe(ENT_ROOM('kitchen') + 'and only notice chips. The chips are not close to you. ' + ENT_GOAL);
    expect(o.actions).toEqual([
      'walk to the living room',
      'walk to the bathroom',
      'walk to the bedroom',
      'walk to the milk',
    ]);
    play(env, 'walk to the milk');
    expect(env.render().lastAction).toEqual({ text: 'walk to the milk', succeeded: false });
  });

  it('"The TV is not close to you." next to the coffee table with the chips on it and the milk in hand', () => {
    const env = resetAndPlay(createVirtualHomeEnv('entertainment'), ENT_SNACKS_TO_LIVING_ROOM);
    play(env, 'walk to the coffee table');
    play(env, 'put the chips on the coffee table');
    const o = env.observe();
    expect(o.prompt).toBe(
      ENT_ROOM('living room') +
        LR_TEXT +
        'The TV is not close to you. Currently, you have the chips on the coffee table and the milk in your hand. ' +
        ENT_GOAL,
    );
    expect(o.actions).toEqual([
      'walk to the kitchen',
      'walk to the bathroom',
      'walk to the bedroom',
      'walk to the TV',
      'walk to the sofa',
    ]);
    expect(env.render().objects.find((x) => x.id === 'chips')).toMatchObject({
      on: ['coffee table'],
      room: 'living room',
      visible: true,
    });
  });

  it('the doubled chips sentence when holding only the chips at the coffee table', () => {
    const env = resetAndPlay(createVirtualHomeEnv('entertainment'), [
      'walk to the chips',
      'grab the chips',
      'walk to the living room',
      'walk to the coffee table',
    ]);
    expect(env.observe().prompt).toBe(
      ENT_ROOM('living room') + LR_TEXT + 'The coffee table is close to you. ' + HP.chips + HP.chips + ENT_GOAL,
    );
  });

  it('the TV cannot be switched on with both hands full', () => {
    const env = resetAndPlay(createVirtualHomeEnv('entertainment'), [...ENT_SNACKS_TO_LIVING_ROOM, 'walk to the TV']);
    play(env, 'turn on the TV');
    expect(env.render().lastAction!.succeeded).toBe(false);
    expect(env.render().objects.find((x) => x.id === 'tv')!.switchedOn).toBe(false);
  });
});

const LR_TEXT = 'and you notice a coffee table, a TV and a sofa. ';

// ------------------------------------------------------------------------------------------------ B.9

describe('B.9 unseen variants', () => {
  it('action tables', () => {
    expect(globalActionTexts('washing-plate')).toEqual([
      'walk to the living room',
      'walk to the kitchen',
      'walk to the bathroom',
      'walk to the bedroom',
      'walk to the dishes',
      'walk to the dishwasher',
      'grab the dishes',
      'put the dishes in the dishwasher',
      'open the dishwasher',
      'close the dishwasher',
    ]);
    expect(globalActionTexts('laundry')[7]).toBe('put the clothes in the washing machine');
    expect(globalActionTexts('apple-pie')[4]).toBe('walk to the apple pie');
    expect(globalActionTexts('cheese')[5]).toBe('walk to the microwave');
    expect(globalActionTexts('pizza')[6]).toBe('grab the pizza');
    expect(globalActionTexts('hamburger')[7]).toBe('put the hamburger in the microwave');
  });

  it('prompts keep "heat up", "opend" and the singular verbs', () => {
    const wash = createVirtualHomeEnv('washing-plate');
    expect(wash.reset().prompt).toBe(
      'There are four rooms: the kitchen, bathroom, bedroom, and living room. You are in the kitchen. You notice dishes and dishwasher. Currently, you are not grabbing anything in hand. The dishes and the dishwasher are not close to you. The dishwasher is not opend. In order to heat up the dishes in the dishwasher, your next step is to',
    );
    playAll(wash, [
      'walk to the dishes',
      'grab the dishes',
      'walk to the dishwasher',
      'open the dishwasher',
      'put the dishes in the dishwasher',
    ]);
    const r = play(wash, 'close the dishwasher');
    expect(r.success).toBe(true);
    expect(wash.observe().prompt).toContain('The dishes is in the dishwasher. ');
    expect(wash.observe().prompt).toContain('The dishwasher is closed. ');

    const laundry = resetAndPlay(createVirtualHomeEnv('laundry'), ['walk to the clothes']);
    expect(laundry.observe().prompt).toContain('The clothes is close to you. ');
    expect(laundry.observe().prompt).toContain('In order to heat up the clothes in the washing machine, ');
    expect(laundry.observe().actions).toEqual([
      'walk to the living room',
      'walk to the bathroom',
      'walk to the bedroom',
      'walk to the washing machine',
      'grab the clothes',
    ]);

    const pie = createVirtualHomeEnv('apple-pie');
    expect(pie.reset().prompt).toContain('You notice apple pie and microwave. ');
    expect(pie.observe().prompt).toContain('In order to heat up the apple pie in the microwave, ');
    expect(pie.render().objects.map((o) => o.label)).toEqual(['apple pie', 'microwave']);
    expect(createVirtualHomeEnv('cheese').reset().prompt).toContain(
      'The cheese and the microwave are not close to you. ',
    );
  });
});
