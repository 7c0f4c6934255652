/**
 * `npm run build`: one self-contained ESM bundle per folder of functions/ (esbuild), written to
 * dist/functions/<name>/{index.mjs,package.json}, zipped as dist/functions/<name>-<sha256>.zip, and listed in
 * dist/functions/manifest.json, which Terraform reads to upload each zip under its content-hash name.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { cjsDynamicImport } from './build-cjs-import.ts';
import { localOnlyGuard, nativeGuard } from './build-guards.ts';
import { writeBundleExtras } from './build-web.ts';

export { LOCAL_ONLY_PACKAGES, LOCAL_ONLY_SOURCES } from './build-guards.ts';

import { functionFolders, REPO_ROOT } from './function-folders.ts';
import { zip } from './zip.ts';

/**
 * Packages left out of the bundles and installed by the Cloud Functions build from package.json instead:
 * - functions-framework: the runtime starts the framework from node_modules and looks the entry point up in
 *   its registry; a bundled copy would register the functions in a second, unseen registry.
 */
export const EXTERNAL_PACKAGES: readonly string[] = ['@google-cloud/functions-framework'];

export const NODE_MAJOR = '24';

/**
 * The bundle's entry file, and the extension of every file it is made of. `.mjs`, not `.js` with
 * `"type": "module"`: to tell ESM from CommonJS, functions-framework's loader imports read-package-up (with
 * normalize-package-data, semver, spdx-correct, hosted-git-info) for a `.js` main, about 45 ms of a cold start
 * on the bench machine, and for an `.mjs` one it reads nothing (issue 15; `npm run bench -- bundles`).
 */
const JS_EXT = '.mjs';
export const ENTRY_FILE = `index${JS_EXT}`;

// ESM output that contains CommonJS dependencies needs these three names at module scope.
const BANNER = [
  "import { createRequire as __nihCreateRequire } from 'node:module';",
  "import { fileURLToPath as __nihFileURLToPath } from 'node:url';",
  "import { dirname as __nihDirname } from 'node:path';",
  'const require = __nihCreateRequire(import.meta.url);',
  'const __filename = __nihFileURLToPath(import.meta.url);',
  'const __dirname = __nihDirname(__filename);',
].join('\n');

export interface BundleInfo {
  name: string;
  /** Folder holding index.mjs (ENTRY_FILE), its chunks and package.json. */
  dir: string;
  /** File name of the zip, inside outDir: `<name>-<first 16 hex of sha256>.zip`. */
  zip: string;
  sha256: string;
  /** Bytes of JavaScript: index.mjs and every chunk. */
  bundleBytes: number;
  zipBytes: number;
  /** Packages the bundle imports but does not contain, with the exact versions of the root package.json. */
  dependencies: Record<string, string>;
  /** What a cold start loads: index.mjs and the chunks it imports statically, transitively. */
  startup: StartupGraph;
  /** Every source file bundled, relative to the repository (node_modules/... for packages), sorted. */
  inputs: string[];
}

/** The part of a bundle that importing index.mjs loads; the other chunks wait for a dynamic `import()`. */
export interface StartupGraph {
  /** JavaScript files (index.mjs first), as named in the bundle folder. */
  files: string[];
  bytes: number;
  /** npm packages with code in those files or imported by them as externals (not Node built-ins), sorted. */
  packages: string[];
  /** npm packages found only in the other chunks: loaded by the first import() that needs them. */
  deferredPackages: string[];
}

export interface BuildOptions {
  functionsDir?: string;
  outDir?: string;
  /** Only these folders (default: every folder of functionsDir). */
  names?: readonly string[];
  minify?: boolean;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function rootDependencies(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  return pkg.dependencies ?? {};
}

/** Walks the static imports of the entry's output file (esbuild metafile paths are relative to the cwd). */
export function startupGraph(metafile: Metafile, entryOutput: string): StartupGraph {
  const outputs = metafile.outputs;
  const packagesOf = (file: string, into: Set<string>) => {
    for (const input of Object.keys(outputs[file]!.inputs)) {
      const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      if (m) into.add(m[1]!);
    }
    for (const imp of outputs[file]!.imports) {
      if (imp.external && !isBuiltin(imp.path)) into.add(packageName(imp.path));
    }
  };
  const seen = new Set<string>();
  const packages = new Set<string>();
  const stack = [entryOutput];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imp of outputs[file]!.imports) {
      if (imp.kind === 'import-statement' && !imp.external) stack.push(imp.path);
    }
    const own = new Set<string>();
    packagesOf(file, own);
    // An external the start-up files import() (rather than import) is deferred too.
    for (const imp of outputs[file]!.imports) {
      if (imp.external && imp.kind !== 'import-statement') own.delete(packageName(imp.path));
    }
    for (const p of own) packages.add(p);
  }
  const later = new Set<string>();
  for (const file of Object.keys(outputs)) if (!seen.has(file)) packagesOf(file, later);
  for (const imp of [...seen].flatMap((f) => outputs[f]!.imports)) {
    if (imp.external && imp.kind !== 'import-statement' && !isBuiltin(imp.path))
      later.add(packageName(imp.path));
  }
  const files = [...seen];
  return {
    files: files.map((f) => f.slice(f.lastIndexOf('/') + 1)),
    bytes: files.reduce((n, f) => n + outputs[f]!.bytes, 0),
    packages: [...packages].sort(),
    deferredPackages: [...later].filter((p) => !packages.has(p)).sort(),
  };
}

/**
 * `import()`s whose target is still CommonJS in the bundle: none should be, as cjsDynamicImport routes each
 * one through an ES module (see build-cjs-import.ts); one left means a named export would be undefined.
 */
function lazyCommonJs(metafile: Metafile): string[] {
  const found = new Set<string>();
  for (const [file, input] of Object.entries(metafile.inputs)) {
    for (const imp of input.imports) {
      if (imp.kind === 'dynamic-import' && metafile.inputs[imp.path]?.format === 'cjs') {
        found.add(`${imp.original ?? imp.path} (in ${file})`);
      }
    }
  }
  return [...found];
}

/** The metafile's inputs (paths relative to the cwd) as repository paths. */
function repoPaths(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs)
    .map((f) => relative(REPO_ROOT, join(process.cwd(), f)).replaceAll('\\', '/'))
    .sort();
}

/** Hash of a folder's files (names and bytes, in name order). */
function hashDir(dir: string): string {
  const h = createHash('sha256');
  for (const f of readdirSync(dir).sort()) {
    h.update(`${f}\0`);
    h.update(readFileSync(join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/** Builds one function folder into outDir; returns what the manifest records of it. */
export async function buildBundle(name: string, opts: BuildOptions = {}): Promise<BundleInfo> {
  const functionsDir = opts.functionsDir ?? join(REPO_ROOT, 'functions');
  const outDir = opts.outDir ?? join(REPO_ROOT, 'dist', 'functions');
  const dir = join(outDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result = await build({
    entryPoints: { index: join(functionsDir, name, 'index.ts') },
    outdir: dir,
    // A function that imports a heavy client lazily (`await import()`) gets it as a chunk loaded on first use.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': JS_EXT },
    bundle: true,
    platform: 'node',
    target: `node${NODE_MAJOR}`,
    format: 'esm',
    banner: { js: BANNER },
    external: EXTERNAL_PACKAGES.flatMap((p) => [p, `${p}/*`]),
    plugins: [localOnlyGuard(REPO_ROOT), nativeGuard, cjsDynamicImport],
    minify: opts.minify ?? true,
    keepNames: true,
    legalComments: 'external',
    metafile: true,
    logLevel: 'error',
  });

  // Not "the output with an entryPoint": esbuild gives one to each dynamically imported chunk as well.
  const entryOutput = Object.keys(result.metafile.outputs).find((f) => f.endsWith(`/${ENTRY_FILE}`));
  if (!entryOutput) throw new Error(`${name}: esbuild reported no entry output`);
  const startup = startupGraph(result.metafile, entryOutput);
  const cjs = lazyCommonJs(result.metafile);
  if (cjs.length > 0) {
    throw new Error(
      `${name}: import() of CommonJS ${cjs.join(', ')}: with code splitting its chunk exports only \`default\`, ` +
        'so named exports are undefined at run time (esbuild #3245), and the cjs-dynamic-import plugin missed it.',
    );
  }

  const versions = rootDependencies();
  const dependencies: Record<string, string> = {};
  for (const output of Object.values(result.metafile.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || isBuiltin(imp.path)) continue;
      const pkg = packageName(imp.path);
      const version = versions[pkg];
      if (!version) throw new Error(`${name}: external ${pkg} is not a dependency in package.json`);
      dependencies[pkg] = version;
    }
  }
  const manifest = {
    name: `nih-cxr-${name}`,
    private: true,
    type: 'module',
    main: ENTRY_FILE,
    engines: { node: NODE_MAJOR },
    dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  await writeBundleExtras(name, dir); // what a function serves besides its code: labels' explorer page
  const sha256 = hashDir(dir);
  const files = readdirSync(dir).sort();
  const archive = zip(files.map((f) => ({ name: f, data: readFileSync(join(dir, f)) })));
  const zipName = `${name}-${sha256.slice(0, 16)}.zip`;
  for (const f of readdirSync(outDir)) {
    if (f.startsWith(`${name}-`) && f.endsWith('.zip')) rmSync(join(outDir, f));
  }
  writeFileSync(join(outDir, zipName), archive);
  return {
    name,
    dir,
    zip: zipName,
    sha256,
    bundleBytes: files.filter((f) => f.endsWith(JS_EXT)).reduce((n, f) => n + statSync(join(dir, f)).size, 0),
    zipBytes: archive.length,
    dependencies: manifest.dependencies,
    startup,
    inputs: repoPaths(result.metafile),
  };
}

/** Builds every function folder and writes outDir/manifest.json. */
export async function buildAll(opts: BuildOptions = {}): Promise<BundleInfo[]> {
  const outDir = opts.outDir ?? join(REPO_ROOT, 'dist', 'functions');
  const names = opts.names ?? functionFolders(opts.functionsDir);
  mkdirSync(outDir, { recursive: true });
  const infos: BundleInfo[] = [];
  for (const name of names) infos.push(await buildBundle(name, { ...opts, outDir }));
  const manifest = Object.fromEntries(
    infos.map((i) => [
      i.name,
      { zip: i.zip, sha256: i.sha256, bundleBytes: i.bundleBytes, dependencies: i.dependencies },
    ]),
  );
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return infos;
}

if (import.meta.main) {
  const infos = await buildAll();
  if (infos.length === 0) console.log('no function folders in functions/: nothing to build');
  for (const i of infos) {
    const kb = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
    console.log(
      `${i.name}: ${relative(REPO_ROOT, i.dir)}/ ${kb(i.bundleBytes)} of JavaScript, ${i.zip} ${kb(i.zipBytes)}` +
        `, installs ${Object.keys(i.dependencies).join(', ') || 'nothing'}` +
        `; a cold start loads ${kb(i.startup.bytes)} in ${i.startup.files.length} files (${i.startup.packages.join(', ')})`,
    );
  }
}
