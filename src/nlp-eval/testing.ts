/** Tests only: helpers the nlp-eval tests share. */
import { expect } from 'vitest';
import { thrownBy } from '../util/testing';
import { BenchDataError } from './errors';

/** Runs `run`, expects a BenchDataError of one line matching `message`, and returns it. */
export function benchDataFailure(run: () => unknown, message: RegExp): BenchDataError {
  const error = thrownBy(run, BenchDataError);
  expect(error.message).not.toContain('\n');
  expect(error.message).toMatch(message);
  return error;
}
