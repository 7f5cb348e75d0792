import { up } from '../src/testbed';

/**
 * Brings the shared testbed up once per test run; reuses it when it is already up.
 * With DESKPLANE_TESTBED_STATE set, the tests use that testbed as it is.
 */
export default async function setup(): Promise<void> {
  if (process.env.DESKPLANE_TESTBED_STATE) return;
  const log = (m: string): void => void process.stderr.write(`[testbed] ${m}\n`);
  await up({}, log);
}
