import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

export const METADATA_HEADER =
  'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]';
export const V2020_ROW =
  '00000001_000.png,Cardiomegaly,0,1,57,M,PA,2682,2749,0.14300000000000002,0.14300000000000002';
export const Y2017_ROW = '00000001_000.png,Cardiomegaly,000,00000001,058Y,M,PA,2682,2749,0.143,0.143';
export const FOUR_HEADER = `${METADATA_HEADER},Fracture,Pneumothorax,Airspace opacity,Nodule or mass,Set Id`;
export const FOUR_ROW = '00000013_008.png,No Finding,8,13,60,M,AP,3056,2544,0.139,0.139,NO,NO,YES,NO,test';
export const FOUR_READERS_HEADER =
  'Patient ID,Image ID,Reader ID,Fracture,Pneumothorax,Airspace opacity,Nodule/mass,Set ID';
export const FOUR_READERS_ROW = '13,00000013_008.png,4295367682,NO,YES,YES,HEDGE,test';
const ALL_COLS =
  'Abnormal,Atelectasis,Cardiomegaly,Effusion,Infiltration,Mass,Nodule,Pneumonia,Pneumothorax,Consolidation,Edema,Emphysema,Fibrosis,Pleural Thickening,Hernia,Other';
export const ALL_HEADER = `Image ID,Patient ID,${ALL_COLS}`;
export const ALL_ROW = '00029560_000.png,29560,YES,NO,NO,NO,NO,NO,NO,NO,NO,NO,NO,NO,NO,YES,NO,NO';
export const ALL_READERS_HEADER = `Image ID,Patient ID,Reader ID,${ALL_COLS}`;
export const ALL_READERS_ROW =
  '00029560_000.png,29560,4343882785,1,NO,NO,NO,NO,NO,NO,NO,NO,NO,NO,NO,NO,YES,NO,NO';
export const BOX_HEADER = 'Image Index,Finding Label,Bbox [x,y,w,h],,,';
export const BOX_ROW =
  '00013118_008.png,Infiltrate,225.084745762712,547.019216763771,86.7796610169491,79.1864406779661';

/** A stream of `content` in chunks of `chunk` bytes (1 splits every multi-byte character and every CRLF). */
export function streamOf(content: string | Buffer, chunk = 64 * 1024): Readable {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  return Readable.from(parts, { objectMode: false });
}

export function lines(rows: string[], eol = '\n'): string {
  return rows.join(eol) + eol;
}

export const gz = (s: string) => gzipSync(Buffer.from(s, 'utf8'));
