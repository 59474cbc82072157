/**
 * A promise that is awaited later, not where it is made (a GPU read collected after the work that follows it).
 * Marked as handled now: if the code in between throws (a GPU lost mid-update rejects every pending read), its
 * rejection must not surface as an unhandled one beside that error. Awaiting the returned promise still sees
 * the rejection.
 */
export function awaitedLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}
