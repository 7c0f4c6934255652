export * from './attribution.ts';
export * from './dicom.ts';
export * from './findings.ts';
export * from './gcs.ts';
export * from './ids.ts';
export * from './record.ts';
