/**
 * Part of `npm run lint`: `terraform fmt -check -recursive terraform`. Fails, saying what to install, when the
 * terraform CLI is missing, so that an unformatted configuration cannot pass lint by accident.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './function-folders.ts';

const r = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', join(REPO_ROOT, 'terraform')], {
  stdio: 'inherit',
});
if (r.error) {
  const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
  console.error(
    missing
      ? 'lint-terraform: the terraform CLI is not on PATH; install Terraform >= 1.9 (https://developer.hashicorp.com/terraform/install).'
      : `lint-terraform: could not run terraform: ${r.error.message}`,
  );
  process.exit(1);
}
if (r.status !== 0) {
  console.error('lint-terraform: terraform/ is not formatted; run `terraform fmt -recursive terraform`.');
  process.exit(r.status ?? 1);
}
