/**
 * The documents say what the code does: every route of the OpenAPI document is in docs/api.md, every
 * error status any route declares has its section in docs/errors.md (the `type` of each problem links
 * there), and every environment variable any function or the local server reads is in the README's table.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as z from 'zod';
import { LocalConfigSchema } from '../../scripts/local/config.ts';
import { CohortsConfigSchema } from '../../shared/cohorts/config.ts';
import { DicomConfigSchema } from '../../shared/dicom/config.ts';
import { GoogleEnvSchema } from '../../shared/google/google-env.ts';
import { HttpConfigSchema } from '../../shared/http/config.ts';
import { LabelsConfigSchema } from '../../shared/labels/config.ts';
import openapi from '../../shared/openapi/openapi.json' with { type: 'json' };
import { SignerConfigSchema } from '../../shared/signing/config.ts';
import { UploadsConfigSchema } from '../../shared/uploads/config.ts';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');
const paths = openapi.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;

describe('docs match the code', () => {
  it('docs/api.md lists every route of the OpenAPI document, with its method', () => {
    const api = read('docs/api.md');
    const missing = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .map((m) => `${m.toUpperCase()} ${path}`)
        .filter((route) => !api.includes(route)),
    );
    assert.deepEqual(missing, []);
  });

  it('docs/errors.md has a section for every error status a route declares, and for 500', () => {
    const errors = read('docs/errors.md');
    const statuses = new Set(['500']);
    for (const ops of Object.values(paths))
      for (const op of Object.values(ops))
        for (const s of Object.keys(op.responses)) if (Number(s) >= 400) statuses.add(s);
    const missing = [...statuses].filter((s) => !new RegExp(`^## ${s}$`, 'm').test(errors));
    assert.deepEqual(missing, []);
  });

  it("the README's configuration table names every variable that is read", () => {
    const readme = read('README.md');
    const schemas = [
      LabelsConfigSchema,
      CohortsConfigSchema,
      UploadsConfigSchema,
      SignerConfigSchema,
      HttpConfigSchema,
      LocalConfigSchema,
      DicomConfigSchema,
      GoogleEnvSchema,
    ];
    const set = new Set<string>();
    for (const s of schemas) {
      const input = s instanceof z.ZodPipe ? s.in : s;
      assert.ok(input instanceof z.ZodObject);
      for (const k of Object.keys(input.shape)) set.add(k);
    }
    // Set by the platform, not by an operator.
    for (const k of ['K_SERVICE', 'FUNCTION_NAME']) set.delete(k);
    const missing = [...set].filter((v) => !new RegExp(`^\\|[^\\n]*\`${v}\``, 'm').test(readme));
    assert.deepEqual(missing, []);
  });

  it('no document points at an API document outside the repository', () => {
    for (const p of ['README.md', 'SECURITY.md', 'docs/architecture.md', 'docs/deploy.md'])
      assert.doesNotMatch(read(p), /shared\/API\.md/, p);
  });
});
