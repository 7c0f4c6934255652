/**
 * Export buttons: one per format the export route's schema lists, with its URL and image-format choices,
 * also from the schema. The streamed manifest (attribution first) is saved as a file.
 */
import type { CohortExportRequest, NihCxrClient } from '../../client/index.ts';
import { type Filter, problemView } from './api.ts';
import { byId, fmt, h } from './dom.ts';
import { type JsonSchema, requestBodySchema } from './form.ts';

const FORMAT_NAMES: Record<string, string> = { csv: 'CSV', ndjson: 'NDJSON' };

export function createExport(o: {
  client: () => NihCxrClient;
  filter: () => Filter;
  openapi: unknown;
}): void {
  const props = requestBodySchema(o.openapi, '/v1/cohorts:export')?.properties ?? {};
  const enumOf = (k: string): string[] => ((props[k] as JsonSchema | undefined)?.enum ?? []).map(String);
  const choice = (k: string, text: string) => {
    const values = enumOf(k);
    const dflt = String((props[k] as JsonSchema | undefined)?.default ?? values[0] ?? '');
    const select = h(
      'select',
      { id: `export-${k}` },
      values.map((v) => h('option', { value: v, selected: v === dflt }, v)),
    );
    return {
      select,
      el: h('div', { class: 'control inline' }, h('label', { for: select.id }, text), select),
    };
  };
  const urls = choice('urls', 'URLs');
  const imageFormat = choice('imageFormat', 'Image file');
  const status = byId('export-status');
  const buttons = enumOf('format').map((format) => {
    const b = h(
      'button',
      { type: 'button', id: `export-${format}`, 'data-format': format },
      `Export ${FORMAT_NAMES[format] ?? format}`,
    );
    b.addEventListener('click', () => void run(format, b));
    return b;
  });
  byId('export-controls').replaceChildren(urls.el, imageFormat.el, h('div', { class: 'buttons' }, buttons));

  async function run(format: string, button: HTMLButtonElement): Promise<void> {
    for (const b of buttons) b.disabled = true;
    status.replaceChildren(`Exporting as ${FORMAT_NAMES[format] ?? format}…`);
    try {
      const req = {
        filter: o.filter(),
        format,
        urls: urls.select.value,
        imageFormat: imageFormat.select.value,
      } as CohortExportRequest;
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
      const name = `nih-cxr-cohort.${format === 'ndjson' ? 'ndjson' : 'csv'}`;
      const url = URL.createObjectURL(
        new Blob(parts as BlobPart[], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }),
      );
      const a = h('a', { href: url, download: name }, name);
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      status.replaceChildren(`Saved ${name} (${fmt(bytes)} bytes; attribution in its first lines).`);
      status.dataset.done = format;
    } catch (err) {
      status.replaceChildren(problemView(err));
    } finally {
      for (const b of buttons) b.disabled = false;
      button.focus();
    }
  }
}
