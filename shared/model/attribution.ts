/** Attribution required wherever the data is served or exported. */
export const NIH_DOWNLOAD_URL = 'https://nihcc.app.box.com/v/ChestXray-NIHCC';
export const PROVIDER = 'NIH Clinical Center';

export const CITATIONS = {
  nih: 'Wang X, Peng Y, Lu L, Lu Z, Bagheri M, Summers RM. ChestX-ray8: Hospital-scale Chest X-ray Database and Benchmarks on Weakly-Supervised Classification and Localization of Common Thorax Diseases. IEEE CVPR 2017, pp. 3462-3471.',
  fourFindings:
    'Majkowska A, Mittal S, Steiner DF, Reicher JJ, McKinney SM, Duggan GE, Eswaran K, Chen PC, Liu Y, Kalidindi SR, Ding A, Corrado GS, Tse D, Shetty S. Chest Radiograph Interpretation Using Deep Learning Models: Assessment Using Radiologist Adjudicated Reference Standards and Population-Adjusted Evaluation. Radiology, 2019. https://doi.org/10.1148/radiol.2019191293',
  allFindings:
    'Nabulsi Z, Sellergren A, Jamshy S, Lau C, Santos E, Kiraly AP, Ye W, Yang J, Kazemzadeh S, Yu J, Kalidindi R, Etemadi M, Garcia Vicente F, Melnick D, Corrado GS, Peng L, Eswaran K, Tse D, Beladia N, Liu Y, Chen PC, Shetty S. Deep Learning for Distinguishing Normal versus Abnormal Chest Radiographs and Generalization to Two Unseen Diseases Tuberculosis and COVID-19. Scientific Reports, 2021. https://arxiv.org/abs/2010.11375',
} as const;

export interface Attribution {
  provider: string;
  source: string;
  citations: string[];
  notice: string;
}

/** The attribution block; label citations are included when those labels are served. */
export function attribution(labels: { fourFindings?: boolean; allFindings?: boolean } = {}): Attribution {
  const citations: string[] = [CITATIONS.nih];
  if (labels.fourFindings !== false) citations.push(CITATIONS.fourFindings);
  if (labels.allFindings !== false) citations.push(CITATIONS.allFindings);
  return {
    provider: PROVIDER,
    source: NIH_DOWNLOAD_URL,
    citations,
    notice: `NIH ChestX-ray14, provided by the ${PROVIDER} (${NIH_DOWNLOAD_URL}). Expert labels by Google Health where cited.`,
  };
}

/** Attribution as comment lines for CSV/NDJSON exports. */
export function attributionLines(prefix = '# '): string[] {
  const a = attribution();
  return [`${prefix}${a.notice}`, ...a.citations.map((c) => `${prefix}Cite: ${c}`)];
}
