import type { CohortExportRow } from './results.ts';

/**
 * The layout of NIH's own metadata file, so that loaders that read Data_Entry_2017_v2020.csv (torchxrayvision's
 * NIH_Dataset, most papers' code) read an export unchanged: the same header, and each field written as that
 * file writes it. `2017` is the original Data_Entry_2017.csv: CRLF lines, a trailing empty header column,
 * zero-padded follow-up and patient id, ages as `058Y`. No comment lines: the attribution travels in the
 * response's Link and X-Attribution headers.
 */
export type NihCsvLayout = 'v2020' | '2017';

const HEADER =
  'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]';

export const NIH_CSV_EOL: Record<NihCsvLayout, string> = { v2020: '\n', '2017': '\r\n' };

/** The header line (without its line ending); with a split, a last `part` column. */
export function nihCsvHeader(layout: NihCsvLayout, part: boolean): string {
  // The 2017 header ends with an empty column name that no row fills; a part column takes its place.
  if (layout === '2017') return `${HEADER},${part ? 'part' : ''}`;
  return part ? `${HEADER},part` : HEADER;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * One image as the metadata file writes it. Numbers print as JavaScript prints a double, which is the
 * shortest text that reads back to the same value: the files' own spelling (0.14300000000000002 in v2020,
 * 0.143 in 2017). 2017 ages the store cannot spell back (`011M`, `001D`, the impossible `412Y` kept as
 * unknown) are the one known difference: they print as whole years, or empty when unknown.
 */
export function nihCsvLine(r: CohortExportRow, layout: NihCsvLayout): string {
  const nih = r.nih;
  if (!nih) throw new Error('nih-csv needs the NIH fields of the export statement');
  const labels = nih.findingLabels.length ? nih.findingLabels.join('|') : 'No Finding';
  const v2020 = layout === 'v2020';
  const age = r.patientAge === null ? '' : v2020 ? String(r.patientAge) : `${pad(r.patientAge, 3)}Y`;
  const fields = [
    `${r.imageId}.png`,
    labels,
    v2020 ? String(r.followUp) : pad(r.followUp, 3),
    v2020 ? String(r.patientId) : pad(r.patientId, 8),
    age,
    r.patientSex,
    r.viewPosition,
    String(nih.width),
    String(nih.height),
    String(nih.pixelSpacingX),
    String(nih.pixelSpacingY),
  ];
  if (r.part !== undefined) fields.push(r.part);
  return fields.join(',');
}
