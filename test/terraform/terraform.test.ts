/**
 * The Terraform configuration, checked offline over HCL parsed with @cdktf/hcl2json, against bundles built
 * from functions/ and the sources in shared/; then deliberately broken copies, each of which must fail.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBundle, EXTERNAL_PACKAGES } from '../../scripts/build.ts';
import { functionFolders, REPO_ROOT } from '../../scripts/function-folders.ts';
import { gatewayRoutes } from '../../scripts/function-routes.ts';
import { generateTerraformFiles } from '../../scripts/gen-terraform.ts';
import type { Route } from '../../shared/http/router.ts';
import {
  buildSealedBundles,
  bundlePackageJson,
  type Probe,
  probeBundle,
  removeTmp,
  type SealedBundle,
  serveBundle,
  startRecordingProxy,
} from '../harness/bundles.ts';
import {
  checkFunctions,
  checkGenerated,
  checkNoPrimitiveRoles,
  checkNoPublicAccess,
  checkUploadTrigger,
  checkVariables,
  type FunctionDeployment,
  functionDeployments,
  type Registrations,
} from './checks.ts';
import {
  type CohortTableSource,
  checkBigQuerySchema,
  checkGateway,
  readGenerated,
} from './checks-generated.ts';
import { checkServiceAccountRoles } from './checks-iam.ts';
import { checkNoSecretsInState } from './checks-secrets.ts';
import { EXPECTED_GRANTS, sampleEnvironment } from './expected.ts';
import { loadTerraform, type TfConfig } from './hcl.ts';
import { type CheckName, MUTATIONS } from './mutations.ts';

const TERRAFORM = join(REPO_ROOT, 'terraform');
const FOLDERS = functionFolders();
const UPLOAD_FOLDER = 'uploads';

let config: TfConfig;
let tmp: string | undefined;
let bundles: SealedBundle[] = [];
const probes = new Map<string, Probe>();
const registrations: Registrations = {};
const routesByFolder: Record<string, Route[]> = {};
let generatedNow: Record<string, string>;
let cohortTables: CohortTableSource[];

function runChecks(c: TfConfig): Record<CheckName, string[]> {
  return {
    functions: checkFunctions(c, FOLDERS, registrations),
    primitiveRoles: checkNoPrimitiveRoles(c),
    publicAccess: checkNoPublicAccess(c),
    serviceAccountRoles: checkServiceAccountRoles(c, EXPECTED_GRANTS),
    variables: checkVariables(c),
    bigQuerySchema: checkBigQuerySchema(c, cohortTables),
    uploadTrigger: checkUploadTrigger(c, UPLOAD_FOLDER),
    gateway: checkGateway(c, routesByFolder),
    generated: checkGenerated(readGenerated(c.root), generatedNow),
    secrets: checkNoSecretsInState(c),
  };
}

const deploymentOf = (folder: string): FunctionDeployment | undefined =>
  functionDeployments(config).find((d) => d.folder === folder);

before(async () => {
  config = await loadTerraform(TERRAFORM);
  const built = await buildSealedBundles();
  tmp = built.tmp;
  bundles = built.bundles;
  for (const b of bundles) {
    const probe = await probeBundle(b, sampleEnvironment(deploymentOf(b.name)?.body, b.name));
    probes.set(b.name, probe);
    registrations[b.name] = probe.registered;
    routesByFolder[b.name] = await gatewayRoutes(b.name);
  }
  generatedNow = await generateTerraformFiles();
  // Regenerated in memory from shared/, independently of terraform/generated.
  const { COHORT_TABLES, bigQueryTableSchema } = await import('../../shared/cohorts/schema.ts');
  cohortTables = COHORT_TABLES.map((t) => ({ id: t.id, fields: bigQueryTableSchema(t.id).fields }));
});

after(() => {
  if (tmp) removeTmp(tmp);
});

describe('terraform configuration', () => {
  it('has function folders to check, one bundle each', () => {
    assert.ok(FOLDERS.length > 0, 'functions/ has no folder with an index.ts');
    assert.deepEqual(bundles.map((b) => b.name).sort(), FOLDERS);
  });

  const cases: [CheckName, string][] = [
    [
      'functions',
      'deploys every folder of functions/ exactly once, on nodejs24, with an entry point its bundle registers',
    ],
    ['primitiveRoles', 'grants no basic role (owner, editor, viewer)'],
    ['publicAccess', 'has no allUsers or allAuthenticatedUsers member anywhere'],
    ['serviceAccountRoles', 'gives each service account exactly its listed roles, on the listed resources'],
    ['variables', 'types and describes every variable of every module and example'],
    ['bigQuerySchema', "creates the BigQuery tables with bigQueryTableSchema()'s schemas"],
    [
      'uploadTrigger',
      'triggers the upload function on finalized objects of the uploads bucket, retrying explicitly',
    ],
    ['gateway', 'routes every HTTP route through the gateway to its function, with an API key and a quota'],
    ['generated', 'has terraform/generated/ exactly as npm run gen:terraform writes it'],
    ['secrets', 'keeps secret values out of the plan and the state'],
  ];
  for (const [check, behaviour] of cases) {
    it(behaviour, () => {
      assert.deepEqual(runChecks(config)[check], []);
    });
  }
});

describe('a deliberately broken copy of the configuration', () => {
  for (const m of MUTATIONS) {
    it(`fails the ${m.fails} check with ${m.name}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'nih-cxr-tf-broken-'));
      try {
        cpSync(TERRAFORM, dir, { recursive: true, filter: (src) => !src.includes('/.terraform') });
        const path = join(dir, m.file);
        const original = readFileSync(path, 'utf8');
        const broken = original.replace(m.from, m.to);
        assert.notEqual(broken, original, `mutation "${m.name}" changed nothing in ${m.file}`);
        writeFileSync(path, broken);
        const problems = runChecks(await loadTerraform(dir))[m.fails];
        assert.ok(
          problems.some((p) => m.message.test(p)),
          `want a ${m.fails} problem matching ${m.message}; got ${JSON.stringify(problems)}`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('function bundles', () => {
  it('each loads in a fresh Node 24 process and registers its entry point in the runtime framework', () => {
    for (const b of bundles) {
      const probe = probes.get(b.name)!;
      const entryPoint = String(deploymentOf(b.name)?.entryPoint);
      assert.match(probe.nodeVersion, /^v24\./);
      assert.ok(entryPoint in probe.registered, `${b.name} registers ${Object.keys(probe.registered)}`);
      assert.ok(
        probe.visibleToFramework[entryPoint],
        `${b.name}: ${entryPoint} not in the framework's registry`,
      );
    }
  });

  it("each imports without loading the framework's express and body-parser: a bare import does not pay for the server", () => {
    for (const b of bundles) assert.deepEqual(probes.get(b.name)!.frameworkServerModules, [], b.name);
  });

  it('each ships index.mjs, its chunks, legal notices and a package.json installing only what cannot be bundled', () => {
    for (const b of bundles) {
      const pkg = bundlePackageJson(b);
      assert.equal(pkg.main, 'index.mjs');
      assert.equal(pkg.type, 'module');
      assert.deepEqual(pkg.engines, { node: '24' });
      const deps = Object.keys(pkg.dependencies as Record<string, string>);
      assert.ok(
        deps.includes('@google-cloud/functions-framework'),
        `${b.name} does not install functions-framework`,
      );
      for (const d of deps) assert.ok(EXTERNAL_PACKAGES.includes(d), `${b.name} installs ${d}`);
      const files = readdirSync(b.dir);
      // explorer.html: the explorer page the labels function serves at / (scripts/build-web.ts).
      for (const f of files) {
        assert.match(f, /^(index\.mjs|chunk-\w+\.mjs|[\w.-]+\.LEGAL\.txt|package\.json|explorer\.html)$/);
      }
      assert.equal(files.includes('explorer.html'), b.name === 'labels', `${b.name}: explorer.html`);
      assert.equal(b.zip, `${b.name}-${b.sha256.slice(0, 16)}.zip`);
    }
  });

  it('names each zip by content: the same source builds the same zip, byte for byte', async () => {
    const b = bundles[0]!;
    const again = mkdtempSync(join(tmpdir(), 'nih-cxr-rebuild-'));
    try {
      const rebuilt = await buildBundle(b.name, { outDir: again });
      assert.equal(rebuilt.zip, b.zip);
      assert.deepEqual(readFileSync(join(again, rebuilt.zip)), readFileSync(join(b.dir, '..', b.zip)));
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  });

  it('reach Google APIs through an HTTPS proxy when one is set (a CommonJS import() keeps its named exports)', async () => {
    // gaxios loads HttpsProxyAgent with import(); split bundles used to see it undefined (esbuild #3245).
    const proxy = await startRecordingProxy();
    const keyFile = join(tmp!, 'proxy-sa.json');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(
      keyFile,
      JSON.stringify({
        type: 'service_account',
        client_email: 'proxy-test@nih-cxr-test.iam.gserviceaccount.com',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      }),
    );
    const b = bundles.find((x) => x.name === 'cohorts')!;
    const d = deploymentOf(b.name)!;
    const served = await serveBundle(b, String(d.entryPoint), {
      ...sampleEnvironment(d.body, b.name),
      GOOGLE_CLOUD_PROJECT: 'nih-cxr-test',
      GOOGLE_APPLICATION_CREDENTIALS: keyFile,
      HTTPS_PROXY: proxy.url,
    });
    try {
      const res = await fetch(`${served.url}/v1/cohorts:query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"filter":{}}',
      });
      assert.equal(res.status, 503, 'the proxy refuses every tunnel, so BigQuery is unreachable');
      assert.ok(
        proxy.requests.some((r) => /^CONNECT oauth2\.googleapis\.com:443 /.test(r)),
        `the proxy saw ${JSON.stringify(proxy.requests)}; the function logged:\n${served.output()}`,
      );
      assert.doesNotMatch(served.output(), /is not a constructor/);
    } finally {
      await served.stop();
      await proxy.stop();
    }
  });

  it('each starts under the functions-framework CLI as Cloud Run starts it, and answers', async () => {
    for (const b of bundles) {
      const d = deploymentOf(b.name)!;
      const served = await serveBundle(b, String(d.entryPoint), sampleEnvironment(d.body, b.name));
      try {
        if (d.eventTrigger) {
          assert.match(served.output(), /Signature type: cloudevent/);
        } else {
          const res = await fetch(`${served.url}/v1/no-such-route`);
          assert.equal(res.status, 404);
          assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
          // The router's adaptations of the framework's express and body-parser hold under its CLI too.
          const post = { labels: 'images:batchGet', cohorts: 'cohorts:query', signer: 'images:signUrls' }[
            b.name
          ];
          // dicom has GET routes only: a malformed path parameter instead of a malformed body.
          const getOnly: Record<string, string> = { dicom: '/v1/images/not-an-id/dicom/metadata' };
          assert.ok(post ?? getOnly[b.name], `a POST route of ${b.name}`);
          const bodyCase = post
            ? ([
                `/v1/${post}`,
                { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{bad' },
              ] as const)
            : ([getOnly[b.name]!, {}] as const);
          for (const [path, init] of [['/v1/%C0%AE', {}] as const, bodyCase]) {
            const bad = await fetch(`${served.url}${path}`, init);
            assert.equal(bad.status, 400, `${b.name} ${path}`);
            assert.match(bad.headers.get('content-type') ?? '', /application\/problem\+json/);
          }
        }
      } finally {
        await served.stop();
      }
    }
  });
});
