import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['operator/src/**/*.test.ts', 'hack/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/python-setup.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/python-setup.ts', 'test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // The tests share one API server; files run one at a time so fixed names do not collide.
          fileParallelism: false,
        },
      },
    ],
  },
});
