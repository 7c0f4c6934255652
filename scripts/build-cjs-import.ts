/**
 * esbuild plugin: `import()` of a CommonJS module keeps its named exports in a split bundle.
 *
 * With code splitting, esbuild gives a dynamically imported CommonJS module a chunk whose namespace has only
 * `default` (esbuild #3245), so `(await import('https-proxy-agent')).HttpsProxyAgent`, which gaxios runs behind
 * an HTTPS proxy, is undefined in a bundle and every Google API call fails. Node itself names a CommonJS
 * module's exports with cjs-module-lexer; this plugin does the same at build time and routes each such
 * `import()` through a small ES module that requires the CommonJS one and exports `default` (module.exports)
 * and those names, so a bundle sees what Node shows the unbundled code.
 */
import { readFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { initSync, parse } from 'cjs-module-lexer';
import type { Plugin } from 'esbuild';

const NAMESPACE = 'cjs-import';
const SKIP = Symbol('cjs-import: resolving');
const MODULE_EXPORTS = 'module.exports';

/** Node's rule: `.cjs`, or `.js` whose nearest package.json does not say `"type": "module"`. */
export function isCommonJs(file: string): boolean {
  const ext = extname(file);
  if (ext === '.cjs') return true;
  if (ext !== '.js') return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    let text: string | undefined;
    try {
      text = readFileSync(join(dir, 'package.json'), 'utf8');
    } catch {
      // No package.json here: look further up.
    }
    if (text !== undefined) return (JSON.parse(text) as { type?: unknown }).type !== 'module';
    if (dirname(dir) === dir) return true;
  }
}

/** The names Node's ESM loader gives a CommonJS module (cjs-module-lexer, following re-exports). */
export function commonJsExportNames(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  initSync();
  const { exports, reexports } = parse(readFileSync(file, 'utf8'), file);
  const names = new Set(exports);
  const req = createRequire(file);
  for (const spec of reexports) {
    let target: string;
    try {
      target = req.resolve(spec);
    } catch {
      continue; // Node skips a re-export it cannot resolve the same way.
    }
    if (isCommonJs(target)) for (const n of commonJsExportNames(target, seen)) names.add(n);
  }
  names.delete('default');
  // Node 23+ also exports the whole of module.exports under this name.
  names.add(MODULE_EXPORTS);
  return [...names].sort();
}

/** The ES module that stands in for `import(file)`; `require` is bundled by esbuild like any other. */
export function wrapperSource(file: string, names: readonly string[]): string {
  const lines = [`const m = require(${JSON.stringify(file)});`, 'export default m;'];
  names.forEach((name, i) => {
    const value = name === MODULE_EXPORTS ? 'm' : `m[${JSON.stringify(name)}]`;
    lines.push(`const e${i} = ${value};`, `export { e${i} as ${JSON.stringify(name)} };`);
  });
  return `${lines.join('\n')}\n`;
}

export const cjsDynamicImport: Plugin = {
  name: 'cjs-dynamic-import',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.kind !== 'dynamic-import' || args.pluginData === SKIP || isBuiltin(args.path))
        return undefined;
      const r = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: SKIP,
      });
      if (r.errors.length > 0 || r.external || r.namespace !== 'file' || !isCommonJs(r.path))
        return undefined;
      return { path: r.path, namespace: NAMESPACE };
    });
    b.onLoad({ filter: /.*/, namespace: NAMESPACE }, (args) => ({
      contents: wrapperSource(args.path, commonJsExportNames(args.path)),
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};
