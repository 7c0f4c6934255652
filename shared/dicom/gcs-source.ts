/**
 * The DICOM files of a bucket (`dicom/<imageId>.dcm` in the NIH bucket), listed page by page and read by
 * byte range, every request billed to `userProject` (the bucket is requester-pays). Works against the
 * Storage emulator through STORAGE_EMULATOR_HOST / apiEndpoint.
 */
import type { Storage } from '@google-cloud/storage';
import type { RangeRead } from './header-range.ts';

export interface ObjectPage {
  objects: { name: string; size: number }[];
  nextPageToken: string | undefined;
}

export interface DicomObjectSource {
  readonly bucket: string;
  list(pageToken: string | undefined, pageSize: number): Promise<ObjectPage>;
  reader(name: string): RangeRead;
}

export function gcsDicomSource(
  storage: Storage,
  o: { bucket: string; prefix: string; userProject: string | undefined; timeoutMs: number },
): DicomObjectSource {
  const bucket = storage.bucket(o.bucket, o.userProject ? { userProject: o.userProject } : {});
  const billed = o.userProject ? { userProject: o.userProject } : {};
  return {
    bucket: o.bucket,
    async list(pageToken, pageSize) {
      const [files, next] = await bucket.getFiles({
        prefix: o.prefix,
        maxResults: pageSize,
        autoPaginate: false,
        ...(pageToken ? { pageToken } : {}),
        ...billed,
      });
      return {
        objects: files.map((f) => ({ name: f.name, size: Number(f.metadata.size ?? 0) })),
        nextPageToken: (next as { pageToken?: string } | null)?.pageToken,
      };
    },
    reader(name) {
      const file = bucket.file(name);
      return async (start, end) => {
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`reading ${name} took over ${o.timeoutMs} ms`)),
            o.timeoutMs,
          );
        });
        try {
          // validation: false; a range has no whole-object checksum to check.
          const [buf] = await Promise.race([
            file.download({ start, end, validation: false, ...billed }),
            deadline,
          ]);
          return buf;
        } finally {
          clearTimeout(timer);
        }
      };
    },
  };
}
