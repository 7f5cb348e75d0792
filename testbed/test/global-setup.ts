import { up } from '../src/testbed';

/** Brings the shared testbed up once per test run; reuses it when it is already up. */
export default async function setup(): Promise<void> {
  const log = (m: string): void => void process.stderr.write(`[testbed] ${m}\n`);
  await up({}, log);
}
