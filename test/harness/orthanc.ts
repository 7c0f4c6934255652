/**
 * A real Orthanc + DICOMweb plugin for the DICOM suites. When it is missing and the tests run as root (CI on a
 * fresh machine), scripts/install-orthanc.sh installs the Debian packages first; otherwise the suite fails
 * with the exact command to run.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import {
  findOrthanc,
  ORTHANC_INSTALL_HINT,
  type Orthanc,
  startOrthanc,
} from '../../scripts/emulators/orthanc.ts';
import { REPO_ROOT } from '../../scripts/function-folders.ts';

export function ensureOrthancInstalled(): void {
  if (typeof findOrthanc() !== 'string') return;
  if (process.getuid?.() === 0) {
    execFileSync(join(REPO_ROOT, 'scripts', 'install-orthanc.sh'), { stdio: 'inherit', timeout: 600_000 });
    const again = findOrthanc();
    if (typeof again === 'string') throw new Error(`scripts/install-orthanc.sh ran, but ${again}`);
    return;
  }
  throw new Error(
    `The DICOM tests need a real Orthanc with its DICOMweb plugin: sudo ${ORTHANC_INSTALL_HINT}, or sudo scripts/install-orthanc.sh`,
  );
}

/** Installs Orthanc if it may, then starts a fresh one. */
export async function startTestOrthanc(): Promise<Orthanc> {
  ensureOrthancInstalled();
  return startOrthanc();
}

export { stowRs } from '../../shared/dicom/stow.ts';
