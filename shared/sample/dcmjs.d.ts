/** The part of dcmjs 0.52 (which ships no types) that synthetic-dicom.ts uses. */
declare module 'dcmjs' {
  type Denaturalized = Record<string, { vr: string; Value: unknown[] }>;
  class DicomDict {
    constructor(meta: Denaturalized);
    dict: Denaturalized;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomDict: typeof DicomDict;
      DicomMetaDictionary: {
        denaturalizeDataset(dataset: Record<string, unknown>): Denaturalized;
        naturalizeDataset(dataset: Denaturalized): Record<string, unknown>;
      };
      DicomMessage: {
        readFile(
          buffer: ArrayBuffer,
          options?: Record<string, unknown>,
        ): { meta: Denaturalized; dict: Denaturalized };
      };
    };
  };
  export default dcmjs;
}
