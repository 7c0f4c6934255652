import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (parent of scripts/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Names of the deployable function folders: every functions/<name>/ that has an index.ts, sorted. */
export function functionFolders(functionsDir = join(REPO_ROOT, 'functions')): string[] {
  if (!existsSync(functionsDir)) return [];
  return readdirSync(functionsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(functionsDir, d.name, 'index.ts')))
    .map((d) => d.name)
    .sort();
}
