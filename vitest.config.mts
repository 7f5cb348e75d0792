import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript source under the "source" condition, so tests
// run against src/ without a build step.
const resolve = { conditions: ['source', 'node', 'import', 'require', 'default'] };

export default defineConfig({
  resolve,
  ssr: { resolve: { conditions: resolve.conditions, externalConditions: ['source'] } },
  test: {
    reporters: ['default', ['json', { outputFile: '.vitest-results/results.json' }]],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          // Pure and in-process tests: beside the code (src/) and in packages' test/ folders.
          include: ['{packages,services,operators,gateway,web-console,testbed,kubectl-plugin,release}/**/src/**/*.test.{ts,tsx}', 'packages/*/test/**/*.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**', '**/*.{smoke,e2e}.test.{ts,tsx}'],
        },
      },
      {
        // Real dependencies: Redis, kube-apiserver, libvirtd, QEMU. globalSetup brings the
        // shared testbed up once per run (a no-op when `testbed up` already ran).
        extends: true,
        test: {
          name: 'smoke',
          include: [
            'testbed/test/**/*.test.ts',
            '{services,operators,gateway}/*/test/**/*.test.ts',
            'web-console/test/**/*.test.ts',
            'kubectl-plugin/test/**/*.test.ts',
            'charts/test/**/*.test.ts',
            '{packages,services,operators,gateway,web-console}/**/*.{smoke,e2e}.test.ts',
          ],
          exclude: ['**/node_modules/**', '**/dist/**'],
          globalSetup: ['testbed/test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          // Guests are CPU-heavy under TCG on 2 cores: files run one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
