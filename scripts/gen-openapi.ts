/** `npm run gen:openapi`: writes shared/openapi/openapi.json from every route's zod schemas (a test checks it is current). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicOpenApiDocument } from './api/catalogue.ts';
import { REPO_ROOT } from './function-folders.ts';

export const OPENAPI_FILE = join(REPO_ROOT, 'shared', 'openapi', 'openapi.json');

export async function renderOpenApi(): Promise<string> {
  return `${JSON.stringify(await publicOpenApiDocument(), null, 2)}\n`;
}

if (import.meta.main) {
  writeFileSync(OPENAPI_FILE, await renderOpenApi());
  console.log(`wrote ${OPENAPI_FILE}`);
}
