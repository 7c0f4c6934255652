/** The cohort tables declared once: BigQuery schema, DuckDB DDL and row mapping agree; masks, filter hashes, page tokens. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IMAGE_COLUMNS, READER_COLUMNS } from '../../shared/cohorts/columns.ts';
import { CohortFilterSchema, canonicalFilter, filterHash } from '../../shared/cohorts/filter.ts';
import { createPageTokens } from '../../shared/cohorts/page-token.ts';
import { findingsMask, maskFindings, toCohortRow, toReaderRows } from '../../shared/cohorts/rows.ts';
import { bigQueryTableSchema, COHORT_TABLES, duckDbDdl, duckDbType } from '../../shared/cohorts/schema.ts';
import { FINDINGS } from '../../shared/model/index.ts';
import { handRecords } from './hand-records.ts';

describe('cohort table declarations', () => {
  it('COHORT_TABLES lists both tables and their BigQuery schemas use REST TableFieldSchema fields', () => {
    assert.deepEqual(
      COHORT_TABLES.map((t) => t.id),
      ['cohort_images', 'cohort_readers'],
    );
    for (const t of COHORT_TABLES) {
      const { fields } = bigQueryTableSchema(t.id);
      assert.equal(new Set(fields.map((f) => f.name)).size, fields.length, 'unique names');
      for (const f of fields) {
        assert.match(f.name, /^[a-z][a-z0-9_]*$/);
        assert.ok(['STRING', 'INTEGER', 'FLOAT', 'BOOLEAN'].includes(f.type));
        assert.ok(['REQUIRED', 'NULLABLE', 'REPEATED'].includes(f.mode));
        assert.ok(f.description.length > 5);
      }
    }
  });

  it('the DuckDB DDL has every declared column with its type and nullability', () => {
    const lines = duckDbDdl('cohort_images')
      .split('\n')
      .map((l) => l.trim().replace(/,$/, ''));
    for (const c of IMAGE_COLUMNS) {
      assert.ok(
        lines.includes(`"${c.name}" ${duckDbType(c)}${c.mode === 'NULLABLE' ? '' : ' NOT NULL'}`),
        c.name,
      );
    }
    assert.match(duckDbDdl('cohort_images'), /"findings" VARCHAR\[\] NOT NULL/);
    assert.match(duckDbDdl('cohort_readers'), /"value" VARCHAR NOT NULL/);
  });

  it('toCohortRow / toReaderRows give exactly the declared columns, with values that fit each mode', () => {
    const check = (
      cols: readonly { name: string; type: string; mode: string }[],
      row: Record<string, unknown>,
    ) => {
      assert.deepEqual(
        Object.keys(row),
        cols.map((c) => c.name),
      );
      for (const c of cols) {
        const v = row[c.name];
        const scalar = (x: unknown) =>
          c.type === 'STRING'
            ? typeof x === 'string'
            : c.type === 'BOOLEAN'
              ? typeof x === 'boolean'
              : Number.isFinite(x);
        if (c.mode === 'REPEATED') assert.ok(Array.isArray(v) && v.every(scalar), c.name);
        else if (c.mode === 'NULLABLE') assert.ok(v === null || scalar(v), c.name);
        else assert.ok(scalar(v), c.name);
      }
    };
    for (const r of handRecords(300)) {
      check(IMAGE_COLUMNS, toCohortRow(r));
      for (const rr of toReaderRows(r)) check(READER_COLUMNS, rr);
    }
  });

  it('findings masks round-trip in NIH name order', () => {
    fc.assert(
      fc.property(fc.subarray([...FINDINGS]), (fs) => {
        assert.deepEqual(maskFindings(findingsMask(fs)), fs);
      }),
    );
    assert.equal(findingsMask(['Atelectasis']), 1);
    assert.equal(findingsMask(['Pneumothorax']), 2 ** 13);
  });
});

describe('filter canonical form and page tokens', () => {
  it('equal meaning gives equal hash; different meaning a different hash', () => {
    const a = CohortFilterSchema.parse({ sex: ['F', 'M'], findings: { any: ['Nodule', 'Mass', 'Mass'] } });
    const b = CohortFilterSchema.parse({ findings: { any: ['Mass', 'Nodule'] }, sex: ['M', 'F'] });
    assert.deepEqual(canonicalFilter(a), canonicalFilter(b));
    assert.equal(filterHash(a), filterHash(b));
    assert.notEqual(filterHash(a), filterHash(CohortFilterSchema.parse({ sex: ['F'] })));
    assert.notEqual(filterHash({}), filterHash({ noFinding: false }));
  });

  it('a token round-trips, and fails with another secret or another filter', () => {
    const t = createPageTokens('secret-one-0123456789');
    const f = CohortFilterSchema.parse({ split: ['test'] });
    const token = t.issue(f, '00001234_005');
    assert.equal(t.read(f, token), '00001234_005');
    assert.throws(() => createPageTokens('secret-two-0123456789').read(f, token), /signature/);
    assert.throws(() => t.read({}, token), /different filter/);
    assert.throws(() => createPageTokens('short'), /at least 16/);
  });
});
