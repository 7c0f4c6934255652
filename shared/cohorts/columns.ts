/**
 * The cohort tables, declared once. Everything else derives from these lists: the BigQuery table schema
 * (loader, Terraform), the DuckDB DDL, the row types, and the allow-list of identifiers the SQL compiler may
 * emit.
 */

/** BigQuery legacy type names: exactly what tables.get returns, so Terraform sees no spurious diff. */
export type ColumnType = 'STRING' | 'INTEGER' | 'FLOAT' | 'BOOLEAN';
export type ColumnMode = 'REQUIRED' | 'NULLABLE' | 'REPEATED';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly mode: ColumnMode;
  readonly description: string;
}

const col = <N extends string, T extends ColumnType, M extends ColumnMode>(
  name: N,
  type: T,
  mode: M,
  description: string,
) => ({ name, type, mode, description }) as const;

/** One row per image: NIH metadata, findings, split, boxes and both adjudicated expert label sets. */
export const IMAGE_COLUMNS = [
  col('image_id', 'STRING', 'REQUIRED', 'NIH file name without .png, e.g. 00000001_000; the table key.'),
  col(
    'image_key',
    'INTEGER',
    'REQUIRED',
    'image_id as a number (00000001_000 -> 1000); sorts exactly like image_id: the keyset pagination key.',
  ),
  col('patient_id', 'INTEGER', 'REQUIRED', 'NIH patient id.'),
  col('follow_up', 'INTEGER', 'REQUIRED', 'Follow-up number of the image for its patient.'),
  col('patient_age', 'INTEGER', 'NULLABLE', 'Age in years; NULL where the source gives an impossible age.'),
  col('patient_sex', 'STRING', 'REQUIRED', 'M or F.'),
  col('view_position', 'STRING', 'REQUIRED', 'PA or AP.'),
  col('width', 'INTEGER', 'REQUIRED', 'Original image width in pixels.'),
  col('height', 'INTEGER', 'REQUIRED', 'Original image height in pixels.'),
  col('pixel_spacing_x', 'FLOAT', 'REQUIRED', 'Original pixel spacing x (mm).'),
  col('pixel_spacing_y', 'FLOAT', 'REQUIRED', 'Original pixel spacing y (mm).'),
  col('split', 'STRING', 'REQUIRED', 'Official NIH split: train_val or test.'),
  col('findings', 'STRING', 'REPEATED', 'NIH findings (text-mined labels); empty for No Finding.'),
  col(
    'findings_mask',
    'INTEGER',
    'REQUIRED',
    'Bit i set when the image has FINDINGS[i] (Atelectasis=bit 0 ... Pneumothorax=bit 13, NIH name order); 0 = No Finding.',
  ),
  col(
    'has_bounding_box',
    'BOOLEAN',
    'REQUIRED',
    'True when BBox_List_2017 has at least one box for the image.',
  ),
  col('bounding_box_findings', 'STRING', 'REPEATED', 'Distinct findings that have a bounding box.'),
  col(
    'ff_set',
    'STRING',
    'NULLABLE',
    'Four-findings adjudicated set (validation or test); NULL when unlabelled.',
  ),
  col('ff_fracture', 'BOOLEAN', 'NULLABLE', 'Four-findings adjudicated fracture (true = YES).'),
  col('ff_pneumothorax', 'BOOLEAN', 'NULLABLE', 'Four-findings adjudicated pneumothorax (true = YES).'),
  col(
    'ff_airspace_opacity',
    'BOOLEAN',
    'NULLABLE',
    'Four-findings adjudicated airspace opacity (true = YES).',
  ),
  col('ff_nodule_or_mass', 'BOOLEAN', 'NULLABLE', 'Four-findings adjudicated nodule or mass (true = YES).'),
  col('af_abnormal', 'BOOLEAN', 'NULLABLE', 'All-findings ground truth: abnormal; NULL when unlabelled.'),
  col('af_other', 'BOOLEAN', 'NULLABLE', 'All-findings ground truth: other finding present.'),
  col('af_findings', 'STRING', 'REPEATED', 'All-findings ground truth: the NIH findings marked YES.'),
  col(
    'af_findings_mask',
    'INTEGER',
    'NULLABLE',
    'All-findings ground truth as a bit mask (same bits as findings_mask); NULL when unlabelled.',
  ),
  // DICOM identity (issue 17): NULL until an uploaded .dcm or `npm run load:dicom` read the file's header.
  col(
    'dicom_study_instance_uid',
    'STRING',
    'NULLABLE',
    'DICOM StudyInstanceUID (0020,000D); NULL until read.',
  ),
  col('dicom_series_instance_uid', 'STRING', 'NULLABLE', 'DICOM SeriesInstanceUID (0020,000E).'),
  col('dicom_sop_instance_uid', 'STRING', 'NULLABLE', 'DICOM SOPInstanceUID (0008,0018).'),
  col('dicom_transfer_syntax_uid', 'STRING', 'NULLABLE', 'DICOM TransferSyntaxUID (0002,0010) of the file.'),
  col('dicom_rows', 'INTEGER', 'NULLABLE', 'DICOM Rows (0028,0010).'),
  col('dicom_columns', 'INTEGER', 'NULLABLE', 'DICOM Columns (0028,0011).'),
  col(
    'dicom_photometric_interpretation',
    'STRING',
    'NULLABLE',
    'DICOM PhotometricInterpretation (0028,0004).',
  ),
] as const;

/** One row per (image, study, reader, label): the individual expert readers' labels. */
export const READER_COLUMNS = [
  col('image_id', 'STRING', 'REQUIRED', 'NIH image id.'),
  col('patient_id', 'INTEGER', 'REQUIRED', 'NIH patient id.'),
  col('study', 'STRING', 'REQUIRED', 'fourFindings (Majkowska 2019) or allFindings (Nabulsi 2021).'),
  col('reader_id', 'STRING', 'REQUIRED', 'Reader id as in the source file.'),
  col('label', 'STRING', 'REQUIRED', 'Label name, e.g. pneumothorax, Atelectasis, abnormal.'),
  col('value', 'STRING', 'REQUIRED', 'YES, NO or HEDGE.'),
] as const;

type Scalar<T extends ColumnType> = T extends 'STRING' ? string : T extends 'BOOLEAN' ? boolean : number;
type Value<C extends Column> = C['mode'] extends 'REPEATED'
  ? Scalar<C['type']>[]
  : C['mode'] extends 'NULLABLE'
    ? Scalar<C['type']> | null
    : Scalar<C['type']>;
/** The row type of a column list, keyed by column name. */
export type RowOf<Cs extends readonly Column[]> = { [C in Cs[number] as C['name']]: Value<C> };

export type CohortImageRow = RowOf<typeof IMAGE_COLUMNS>;
export type CohortReaderRow = RowOf<typeof READER_COLUMNS>;
export type ImageColumnName = (typeof IMAGE_COLUMNS)[number]['name'];
export type ReaderColumnName = (typeof READER_COLUMNS)[number]['name'];
