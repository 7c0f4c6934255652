/** esbuild plugins that fail a cloud build on code that cannot or must not be in a bundle. */
import { join, relative } from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * What runs only on a developer's machine and must never reach a cloud bundle: DuckDB (native binaries,
 * some 70 MB installed) and the modules that open it or serve `npm start`. A cloud entry opens its store with
 * openBigQueryCohortStore; an import of any of these, however deep, fails the build.
 */
export const LOCAL_ONLY_PACKAGES: readonly string[] = ['@duckdb/'];
export const LOCAL_ONLY_SOURCES: readonly string[] = [
  'shared/cohorts/duckdb-store.ts',
  'shared/cohorts/duckdb-load.ts',
  'shared/cohorts/duckdb-pool.ts',
  'shared/cohorts/duckdb-sql.ts',
  'shared/cohorts/create-store.ts',
  'shared/sample/',
  'scripts/',
  'test/',
  'bench/',
];

/** Native code (.node files) cannot be bundled. */
export const nativeGuard: Plugin = {
  name: 'native-guard',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => ({
      errors: [
        {
          text: `${args.importer} loads native code (${args.path}); add its package to EXTERNAL_PACKAGES in scripts/build.ts`,
        },
      ],
    }));
  },
};

/** Fails the build on any import of local-only code, naming the importer and what to use instead. */
export function localOnlyGuard(repoRoot: string): Plugin {
  const refuse = (what: string, importer: string) => ({
    errors: [
      {
        text:
          `${relative(repoRoot, importer) || importer} imports ${what}, which is local-only: cloud bundles leave DuckDB ` +
          'and the local server out (LOCAL_ONLY_* in scripts/build.ts). Open the cohort store with openBigQueryCohortStore.',
      },
    ],
  });
  return {
    name: 'local-only-guard',
    setup(b) {
      const escaped = LOCAL_ONLY_PACKAGES.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
      b.onResolve({ filter: new RegExp(`^(?:${escaped.join('|')})`) }, (args) =>
        refuse(args.path, args.importer),
      );
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        const file = relative(repoRoot, join(args.resolveDir, args.path)).replaceAll('\\', '/');
        const hit = LOCAL_ONLY_SOURCES.find((p) => (p.endsWith('/') ? file.startsWith(p) : file === p));
        return hit ? refuse(file, args.importer) : undefined;
      });
    },
  };
}
