// Prints "passed failed skipped" from a vitest JSON report. A test file that failed to
// load has no failed tests in it, so it counts as one failure; a missing report is one too.
import { readFileSync } from 'node:fs';

let report;
try {
  report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch {
  console.log('0 1 0');
  process.exit(0);
}
let passed = 0, failed = 0, skipped = 0;
for (const file of report.testResults ?? []) {
  const results = file.assertionResults ?? [];
  const fileFailed = results.filter((a) => a.status === 'failed').length;
  passed += results.filter((a) => a.status === 'passed').length;
  skipped += results.filter((a) => a.status === 'skipped' || a.status === 'pending' || a.status === 'todo').length;
  failed += fileFailed || (file.status === 'failed' ? 1 : 0);
}
if ((report.testResults ?? []).length === 0) failed += 1; // ran nothing: never a green run
console.log(`${passed} ${failed} ${skipped}`);
