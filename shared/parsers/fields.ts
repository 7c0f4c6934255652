import {
  FINDINGS,
  type Finding,
  type FourFindingsSet,
  type ImageId,
  NO_FINDING,
  normaliseFinding,
  type PatientId,
  type ReaderValue,
  type Sex,
  type View,
} from '../model/index.ts';

/**
 * Hand-written field checks for the hot path (zod per row is several times slower). They accept exactly what
 * the shared/model schemas accept, with the same messages; the tests check every parsed row against them.
 */
export class RowRejection extends Error {}

export function reject(column: string, message: string): never {
  throw new RowRejection(`${column}: ${message}`);
}

/** A raw value for a message: quoted, and cut short. */
export function shown(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
}

/**
 * The value of `raw` when it is 1 to `max` ASCII digits, else -1. Char codes rather than a regex and
 * Number(): this runs for five fields of 224k metadata rows.
 */
export function digits(raw: string, max: number): number {
  const n = raw.length;
  if (n === 0 || n > max) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function isImageId(raw: string): boolean {
  const n = raw.length;
  if (n !== 12 && !(n === 16 && raw.endsWith('.png'))) return false;
  if (raw.charCodeAt(8) !== 95) return false;
  for (let i = 0; i < 12; i++) {
    const c = raw.charCodeAt(i) - 48;
    if (i !== 8 && (c < 0 || c > 9)) return false;
  }
  return true;
}

/** `00000001_000`, with or without `.png` (the ImageIdSchema rule). */
export function imageId(column: string, raw: string): ImageId {
  if (!isImageId(raw)) {
    reject(
      column,
      `bad image id ${shown(raw)}: must look like 00000001_000 (8 digits, underscore, 3 digits)`,
    );
  }
  return (raw.length === 16 ? raw.slice(0, 12) : raw) as ImageId;
}

export function patientId(column: string, raw: string): PatientId {
  const n = digits(raw, 8);
  if (n < 1) reject(column, `bad patient id ${shown(raw)}: must be a positive integer`);
  return n as PatientId;
}

/** The patient id must be the one encoded in the image id. */
export function checkPatientOfImage(column: string, id: ImageId, patient: PatientId): void {
  let n = 0;
  for (let i = 0; i < 8; i++) n = n * 10 + id.charCodeAt(i) - 48;
  if (n !== patient) reject(column, `patient id ${patient} does not match image id ${id}`);
}

export function followUp(column: string, raw: string): number {
  const n = digits(raw, 3);
  if (n < 0) reject(column, `bad follow-up number ${shown(raw)}: must be 0 to 999`);
  return n;
}

export const MAX_AGE = 120;

/**
 * Whole years (v2020 and the four-findings label files). Over 120 is impossible: in the v2020 metadata that
 * rejects the row; the label files keep a copy of the 2017 ages (validation_labels.csv has a 155), and there
 * the row's labels matter more, so `warn` keeps it with a null age and a warning.
 */
export function ageYears(column: string, raw: string, warn?: (reason: string) => void): number | null {
  const n = digits(raw, 3);
  if (n < 0) {
    reject(
      column,
      /^\d{3}[YMD]$/.test(raw)
        ? `bad age ${shown(raw)}: this file's header is not the 2017 one, so ages are whole years`
        : `bad age ${shown(raw)}: must be a whole number of years`,
    );
  }
  if (n > MAX_AGE) {
    if (!warn) reject(column, `impossible age ${n} (over ${MAX_AGE} years)`);
    warn(`${column}: impossible age ${n} (over ${MAX_AGE} years); kept the row with no age`);
    return null;
  }
  return n;
}

/**
 * Data_Entry_2017.csv: `058Y`, `011M`, `001D`; months and days become whole years. An impossible age (over
 * 120 years, e.g. `412Y`) keeps the row with a null age and a warning; Data_Entry_2017_v2020.csv fixed them.
 */
export function age2017(column: string, raw: string, warn: (reason: string) => void): number | null {
  const unit = raw.charCodeAt(raw.length - 1);
  const n = unit === 89 || unit === 77 || unit === 68 ? digits(raw.slice(0, -1), 3) : -1; // Y M D
  if (n < 0) reject(column, `bad age ${shown(raw)}: must look like 058Y, 011M or 001D`);
  const years = unit === 89 ? n : unit === 77 ? Math.floor(n / 12) : Math.floor(n / 365);
  if (years > MAX_AGE) {
    warn(`${column}: impossible age ${raw} (over ${MAX_AGE} years); kept the row with no age`);
    return null;
  }
  return years;
}

export function sex(column: string, raw: string): Sex {
  if (raw !== 'M' && raw !== 'F') reject(column, `bad sex ${shown(raw)}: must be M or F`);
  return raw;
}

export function view(column: string, raw: string): View {
  if (raw !== 'PA' && raw !== 'AP') reject(column, `bad view position ${shown(raw)}: must be PA or AP`);
  return raw;
}

export function pixels(column: string, raw: string): number {
  const n = digits(raw, 6);
  if (n < 1) reject(column, `bad size ${shown(raw)}: must be a positive integer`);
  return n;
}

/** A plain decimal (`0.143`, `-5`, `1e-3`): digits, one optional point and exponent; not hex, not blank. */
function isDecimal(raw: string): boolean {
  const n = raw.length;
  let i = 0;
  let c = raw.charCodeAt(0);
  if (c === 43 || c === 45) c = raw.charCodeAt(++i);
  let mantissa = 0;
  while (c >= 48 && c <= 57) {
    mantissa++;
    c = raw.charCodeAt(++i);
  }
  if (c === 46) {
    c = raw.charCodeAt(++i);
    while (c >= 48 && c <= 57) {
      mantissa++;
      c = raw.charCodeAt(++i);
    }
  }
  if (mantissa === 0) return false;
  if (c === 101 || c === 69) {
    c = raw.charCodeAt(++i);
    if (c === 43 || c === 45) c = raw.charCodeAt(++i);
    let exp = 0;
    while (c >= 48 && c <= 57) {
      exp++;
      c = raw.charCodeAt(++i);
    }
    if (exp === 0) return false;
  }
  return i === n;
}

export function decimal(column: string, raw: string): number {
  const n = isDecimal(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(n)) reject(column, `bad number ${shown(raw)}`);
  return n;
}

export function positive(column: string, raw: string): number {
  const n = decimal(column, raw);
  if (!(n > 0)) reject(column, `bad number ${shown(raw)}: must be positive`);
  return n;
}

export function nonNegative(column: string, raw: string): number {
  const n = decimal(column, raw);
  if (!(n >= 0)) reject(column, `bad number ${shown(raw)}: must not be negative`);
  return n;
}

/** Exact NIH spellings to the shared constant strings, so that parsed rows do not each hold a copy. */
const CANONICAL: ReadonlyMap<string, Finding> = new Map(FINDINGS.map((f) => [f, f]));

/** One finding name, exact NIH spelling or a known label-file spelling. */
export function finding(column: string, raw: string): Finding {
  const f = CANONICAL.get(raw) ?? normaliseFinding(raw);
  if (!f) reject(column, `unknown finding ${shown(raw)}`);
  return f;
}

/** `No Finding` or `A|B|...` in the metadata; duplicates are rejected rather than silently merged. */
export function findingList(column: string, raw: string): Finding[] {
  if (raw === NO_FINDING) return [];
  if (raw === '') reject(column, `empty (an image without findings says "${NO_FINDING}")`);
  // split gives an array of the exact length, which the records keep (a pushed-to array has spare room).
  const out = raw.split('|');
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    if (p === NO_FINDING) reject(column, `"${NO_FINDING}" together with findings in ${shown(raw)}`);
    const f = finding(column, p);
    for (let j = 0; j < i; j++)
      if (out[j] === f) reject(column, `finding ${f} listed twice in ${shown(raw)}`);
    out[i] = f;
  }
  return out as Finding[];
}

/** Adjudicated labels: YES or NO only. */
export function yesNo(column: string, raw: string): boolean {
  if (raw === 'YES') return true;
  if (raw === 'NO') return false;
  return reject(column, `unexpected label value ${shown(raw)}: must be YES or NO`);
}

/** test_individual_readers.csv gives Abnormal as 1/0; everywhere else it is YES/NO. */
export function abnormal(column: string, raw: string): boolean {
  if (raw === 'YES' || raw === '1') return true;
  if (raw === 'NO' || raw === '0') return false;
  return reject(column, `unexpected label value ${shown(raw)}: must be YES, NO, 1 or 0`);
}

/** All-findings reader labels: YES or NO (that study had no HEDGE). */
export function readerYesNo(column: string, raw: string): 'YES' | 'NO' {
  if (raw !== 'YES' && raw !== 'NO')
    reject(column, `unexpected label value ${shown(raw)}: must be YES or NO`);
  return raw;
}

/** Four-findings reader labels: YES, NO or HEDGE. */
export function readerValue(column: string, raw: string): ReaderValue {
  if (raw !== 'YES' && raw !== 'NO' && raw !== 'HEDGE') {
    reject(column, `unexpected label value ${shown(raw)}: must be YES, NO or HEDGE`);
  }
  return raw;
}

const READER_ID = /^\d{1,20}$/;
export function readerId(column: string, raw: string): string {
  if (!READER_ID.test(raw)) reject(column, `bad reader id ${shown(raw)}: must be digits`);
  return raw;
}

/** Four-findings set: `val` in the Google files means the validation set. */
export function fourFindingsSet(column: string, raw: string): FourFindingsSet {
  if (raw === 'test') return 'test';
  if (raw === 'val' || raw === 'validation') return 'validation';
  return reject(column, `unexpected set ${shown(raw)}: must be val or test`);
}
