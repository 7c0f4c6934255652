/**
 * `node scripts/check-size.ts` (part of `npm run lint`): no source file over 300 lines and no function over
 * 80 lines, outside tests (test/) and generated files. Functions are found with the TypeScript compiler's
 * own parser (TypeScript 7's API: the program of tsconfig.json), so a function is what the compiler says it
 * is, and its length runs from its first token to its closing brace. Exits 1 and lists every offender.
 */
import { relative } from 'node:path';
import { type Node, type SourceFile, SyntaxKind } from 'typescript/unstable/ast';
import { API } from 'typescript/unstable/sync';

export const MAX_FILE_LINES = 300;
export const MAX_FUNCTION_LINES = 80;

/** Not held to the limits: tests and their fixtures, and files a generator writes. */
const EXEMPT = [/^test\//, /(^|\/)generated\//, /\.generated\.ts$/];

const FUNCTION_KINDS = new Set<SyntaxKind>([
  SyntaxKind.FunctionDeclaration,
  SyntaxKind.FunctionExpression,
  SyntaxKind.ArrowFunction,
  SyntaxKind.MethodDeclaration,
  SyntaxKind.Constructor,
  SyntaxKind.GetAccessor,
  SyntaxKind.SetAccessor,
]);

export interface Offence {
  file: string;
  line: number;
  what: string;
  lines: number;
  limit: number;
}

function lineOf(sf: SourceFile, pos: number): number {
  return sf.getLineAndCharacterOfPosition(pos).line + 1;
}

/** The name a function goes by: its own, or that of the variable, property or method it is assigned to. */
function nameOf(node: Node): string {
  for (let n: Node | undefined = node; n; n = n.parent) {
    const name = (n as { name?: { text?: string } }).name?.text;
    if (name) return name;
    if (n !== node && FUNCTION_KINDS.has(n.kind)) break;
  }
  return '(anonymous)';
}

/** Every function over the limit in one file, and the file itself when it is over its limit. */
export function checkSourceFile(sf: SourceFile, file: string): Offence[] {
  const out: Offence[] = [];
  const total = sf.text.endsWith('\n') ? sf.text.split('\n').length - 1 : sf.text.split('\n').length;
  if (total > MAX_FILE_LINES) out.push({ file, line: 1, what: 'file', lines: total, limit: MAX_FILE_LINES });
  const visit = (node: Node): void => {
    if (FUNCTION_KINDS.has(node.kind)) {
      const start = lineOf(sf, node.getStart(sf));
      const lines = lineOf(sf, node.end) - start + 1;
      if (lines > MAX_FUNCTION_LINES)
        out.push({ file, line: start, what: `function ${nameOf(node)}`, lines, limit: MAX_FUNCTION_LINES });
    }
    node.forEachChild(visit);
  };
  sf.forEachChild(visit);
  return out;
}

/** The offences of every source file of the tsconfig.json program under `root`. */
export function checkSizes(root = process.cwd()): Offence[] {
  const api = new API({ cwd: root });
  try {
    const project = api.updateSnapshot({ openProject: 'tsconfig.json' }).getProjects()[0];
    if (!project) throw new Error('tsconfig.json did not open as a project');
    const out: Offence[] = [];
    for (const name of project.program.getSourceFileNames()) {
      const file = relative(root, name);
      if (file.startsWith('..') || file.includes('node_modules/')) continue;
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
      if (EXEMPT.some((re) => re.test(file))) continue;
      const sf = project.program.getSourceFile(name);
      if (sf) out.push(...checkSourceFile(sf, file));
    }
    return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  } finally {
    api.close();
  }
}

if (import.meta.main) {
  const offences = checkSizes();
  for (const o of offences)
    console.error(`${o.file}:${o.line}: ${o.what} has ${o.lines} lines (limit ${o.limit})`);
  if (offences.length > 0) {
    console.error(
      `check-size: ${offences.length} over the limits (files ${MAX_FILE_LINES}, functions ${MAX_FUNCTION_LINES} lines)`,
    );
    process.exit(1);
  }
  console.log(
    `check-size: every file within ${MAX_FILE_LINES} lines, every function within ${MAX_FUNCTION_LINES}`,
  );
}
