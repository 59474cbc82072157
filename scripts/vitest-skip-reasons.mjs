// A vitest reporter for `npm test`'s GPU stages: lists every skipped test with its reason (`ctx.skip(note)`)
// after the run, so that a stage on an adapter without a feature says what it did not cover. The default
// reporter shows these reasons only test by test, and the JSON report drops them.
import { relative } from 'node:path';

export default class SkipReasons {
  onTestRunEnd(testModules) {
    const skipped = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const result = test.result();
        if (result.state !== 'skipped') continue;
        const note = result.note ? ` [${result.note}]` : '';
        skipped.push(`  ${relative(process.cwd(), module.moduleId)} > ${test.fullName}${note}`);
      }
    }
    if (skipped.length > 0) process.stdout.write(`\nskipped tests (${skipped.length}):\n${skipped.join('\n')}\n`);
  }
}
