/**
 * Export: one button per format the export route's schema lists; its other settings (URLs, image file,
 * lifetime of signed URLs, a patient-disjoint split, and whatever is added later) are generated from the same
 * schema, like the filter. The streamed manifest (attribution first) is saved as a file.
 */
import type { CohortExportRequest, NihCxrClient } from '../../client/index.ts';
import { type Cohort, problemView } from './api.ts';
import { byId, fmt, h } from './dom.ts';
import { buildField, type JsonSchema, requestBodySchema } from './form.ts';

const FORMAT_NAMES: Record<string, string> = {
  csv: 'CSV',
  ndjson: 'NDJSON',
  'nih-csv': 'NIH CSV',
  parquet: 'Parquet',
};
const TYPES: Record<string, string> = { csv: 'text/csv', ndjson: 'application/x-ndjson' };

/** `csv` -> nih-cxr-cohort.csv; `nih-csv` -> nih-cxr-cohort-nih.csv; `parquet` -> nih-cxr-cohort.parquet. */
function fileName(format: string): string {
  const ext = format.slice(format.lastIndexOf('-') + 1);
  const variant = format.includes('-') ? `-${format.slice(0, format.lastIndexOf('-'))}` : '';
  return `nih-cxr-cohort${variant}.${ext}`;
}

export function createExport(o: {
  client: () => NihCxrClient;
  cohort: () => Cohort;
  openapi: unknown;
}): void {
  const body = requestBodySchema(o.openapi, '/v1/cohorts:export')?.properties ?? {};
  // The cohort's own parts (filter, dataset options) come from the page; the rest are export settings.
  const shared = new Set(Object.keys(requestBodySchema(o.openapi, '/v1/cohorts:summary')?.properties ?? {}));
  const { format, ...rest } = body;
  const settingsSchema: JsonSchema = {
    type: 'object',
    properties: Object.fromEntries(Object.entries(rest).filter(([k]) => !shared.has(k))),
  };
  const settings = buildField('export', ['export'], settingsSchema);
  const status = byId('export-status');
  const buttons = ((format as JsonSchema | undefined)?.enum ?? []).map(String).map((f) => {
    const b = h(
      'button',
      { type: 'button', id: `export-${f}`, 'data-format': f },
      `Export ${FORMAT_NAMES[f] ?? f}`,
    );
    b.addEventListener('click', () => void run(f, b));
    return b;
  });
  byId('export-controls').replaceChildren(settings.el, h('div', { class: 'buttons' }, buttons));

  async function run(f: string, button: HTMLButtonElement): Promise<void> {
    for (const b of buttons) b.disabled = true;
    status.replaceChildren(`Exporting as ${FORMAT_NAMES[f] ?? f}…`);
    delete status.dataset.done;
    try {
      const { filter, options } = o.cohort();
      const extra = (settings.read() ?? {}) as Record<string, unknown>;
      const req = { filter, ...options, ...extra, format: f } as CohortExportRequest;
      const stream = await o.client().exportCohort(req);
      const parts: Uint8Array[] = [];
      let bytes = 0;
      const reader = stream.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        bytes += value.byteLength;
        status.textContent = `Exporting… ${fmt(Math.round(bytes / 1024))} KiB`;
      }
      const name = fileName(f);
      const ext = name.slice(name.lastIndexOf('.') + 1);
      const url = URL.createObjectURL(
        new Blob(parts as BlobPart[], { type: TYPES[ext] ?? 'application/octet-stream' }),
      );
      h('a', { href: url, download: name }).click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      status.replaceChildren(`Saved ${name} (${fmt(bytes)} bytes, with the attribution).`);
      status.dataset.done = f;
    } catch (err) {
      status.replaceChildren(problemView(err));
    } finally {
      for (const b of buttons) b.disabled = false;
      button.focus();
    }
  }
}
