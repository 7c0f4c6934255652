import * as z from 'zod';

/** The 14 NIH findings, spelled exactly as in the NIH metadata. */
export const FINDINGS = [
  'Atelectasis',
  'Cardiomegaly',
  'Consolidation',
  'Edema',
  'Effusion',
  'Emphysema',
  'Fibrosis',
  'Hernia',
  'Infiltration',
  'Mass',
  'Nodule',
  'Pleural_Thickening',
  'Pneumonia',
  'Pneumothorax',
] as const;
export type Finding = (typeof FINDINGS)[number];
export const NO_FINDING = 'No Finding';

export const FindingSchema = z.enum(FINDINGS);

const ALIASES: ReadonlyMap<string, Finding> = new Map([
  ...FINDINGS.flatMap((f): [string, Finding][] => [
    [f.toLowerCase(), f],
    [f.toLowerCase().replace('_', ' '), f],
  ]),
  // BBox_List_2017.csv spells Infiltration this way.
  ['infiltrate', 'Infiltration'],
]);

/**
 * Maps a finding as spelled in any label file (e.g. `Pleural Thickening`, `Infiltrate`) to its NIH name, or
 * undefined.
 */
export function normaliseFinding(name: string): Finding | undefined {
  return ALIASES.get(name.trim().toLowerCase());
}

export function isFinding(name: string): name is Finding {
  return (FINDINGS as readonly string[]).includes(name);
}

/** The four findings of Majkowska et al. 2019, as fields of the API. */
export const FOUR_FINDINGS = ['fracture', 'pneumothorax', 'airspaceOpacity', 'noduleOrMass'] as const;
export type FourFinding = (typeof FOUR_FINDINGS)[number];

export const SEXES = ['M', 'F'] as const;
export const VIEWS = ['PA', 'AP'] as const;
export const SPLITS = ['train_val', 'test'] as const;
export const FOUR_FINDINGS_SETS = ['validation', 'test'] as const;
export const READER_VALUES = ['YES', 'NO', 'HEDGE'] as const;

export const SexSchema = z.enum(SEXES);
export const ViewSchema = z.enum(VIEWS);
export const SplitSchema = z.enum(SPLITS);
export const FourFindingsSetSchema = z.enum(FOUR_FINDINGS_SETS);
export const ReaderValueSchema = z.enum(READER_VALUES);
export type Sex = z.infer<typeof SexSchema>;
export type View = z.infer<typeof ViewSchema>;
export type Split = z.infer<typeof SplitSchema>;
export type FourFindingsSet = z.infer<typeof FourFindingsSetSchema>;
export type ReaderValue = z.infer<typeof ReaderValueSchema>;
