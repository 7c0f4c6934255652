/** Entry point of the `dicom` function: an image's DICOM metadata, rendered frame and file, via DICOMweb. */
import { http } from '@google-cloud/functions-framework';
import { createDicomApp, loadDicomAppConfig } from './app.ts';

export const dicom = createDicomApp({ config: loadDicomAppConfig() }).handler;
http('dicom', dicom);
