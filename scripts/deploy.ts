/**
 * `npm run deploy -- [terraform apply arguments]`: builds the bundles (npm run build), regenerates
 * terraform/generated (npm run gen:terraform), then runs `terraform init` and `terraform apply` in the
 * deployment folder: terraform/examples/basic, or DEPLOY_DIR. Arguments after `--` go to `terraform apply`,
 * e.g. `npm run deploy -- -var project_id=my-project`. See docs/deploy.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { buildAll } from './build.ts';
import { REPO_ROOT } from './function-folders.ts';
import { generateTerraformFiles, writeGenerated } from './gen-terraform.ts';

const dir = resolve(process.env.DEPLOY_DIR ?? join(REPO_ROOT, 'terraform', 'examples', 'basic'));

function terraform(args: string[]): void {
  console.log(`\n$ terraform -chdir=${relative(REPO_ROOT, dir)} ${args.join(' ')}`);
  const r = spawnSync('terraform', [`-chdir=${dir}`, ...args], { stdio: 'inherit' });
  if (r.error) {
    console.error(`deploy: cannot run terraform (${r.error.message}); install Terraform >= 1.9.`);
    process.exit(1);
  }
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync(join(dir, 'main.tf'))) {
  console.error(`deploy: ${dir} has no main.tf; set DEPLOY_DIR to a Terraform configuration.`);
  process.exit(1);
}

console.log('$ npm run build');
for (const b of await buildAll())
  console.log(`  ${b.name}: ${b.zip} (${(b.zipBytes / 1024).toFixed(0)} KiB)`);
console.log('$ npm run gen:terraform');
writeGenerated(await generateTerraformFiles());

terraform(['init', '-input=false']);
terraform(['apply', ...process.argv.slice(2)]);
