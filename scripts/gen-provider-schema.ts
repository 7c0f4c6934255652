/**
 * `node scripts/gen-provider-schema.ts`: writes test/terraform/provider-schema.json, the compact offline schema
 * the Terraform tests check every block of terraform/ against (arguments, nested blocks, which are required,
 * and the attributes a reference may read).
 *
 * Source: the `.jsii` manifests of the prebuilt CDKTF provider packages, which carry the published provider
 * schemas. They are large (about 300 MB unpacked each), so they are not dependencies: this script fetches the
 * pinned tarballs with `npm pack` into a temporary folder, reads the manifests and keeps only the resource and
 * data source types terraform/ uses (plus the names of all the others, so that a misspelt type is told apart
 * from one not extracted yet). Run it again after using a new resource type or changing PACKAGES.
 *
 * The newest packages (CDKTF prebuilt providers were discontinued in December 2025) describe
 * hashicorp/google and google-beta 6.50.0; terraform/versions.tf pins 7.x. docs/deploy.md lists what differs
 * for the types we use.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './function-folders.ts';

/** npm package -> the Terraform provider (local name) it describes. Exact versions: the schema is a snapshot. */
export const PACKAGES: Record<string, { version: string; provider: string }> = {
  '@cdktf/provider-google': { version: '16.12.1', provider: 'google' },
  '@cdktf/provider-google-beta': { version: '16.12.1', provider: 'google-beta' },
  '@cdktf/provider-random': { version: '12.0.1', provider: 'random' },
  '@cdktf/provider-time': { version: '11.0.1', provider: 'time' },
};

export const SCHEMA_FILE = join(REPO_ROOT, 'test', 'terraform', 'provider-schema.json');

export interface BlockSchema {
  /** Argument name -> required. */
  attributes: Record<string, boolean>;
  /** Nested block name -> its schema; `required` when at least one must be written, `list` when more may. */
  blocks: Record<string, BlockSchema & { required: boolean; list: boolean }>;
}

export interface TypeSchema extends BlockSchema {
  /** Every attribute a reference may read (arguments and computed attributes). */
  exported: string[];
}

export interface ProviderSchema {
  package: string;
  packageVersion: string;
  /** Provider version the package was generated from. */
  providerVersion: string;
  provider?: BlockSchema;
  /** Names of every resource and data source type of the provider. */
  resourceTypes: string[];
  dataTypes: string[];
  resources: Record<string, TypeSchema>;
  data: Record<string, TypeSchema>;
}

export interface SchemaFile {
  generatedBy: string;
  providers: Record<string, ProviderSchema>;
}

type Jsii = Record<string, unknown>;
interface JsiiProperty {
  name: string;
  optional?: boolean;
  static?: boolean;
  type: Jsii;
  docs?: { summary?: string; remarks?: string };
}
interface JsiiType {
  kind: string;
  datatype?: boolean;
  docs?: { summary?: string };
  properties?: JsiiProperty[];
  initializer?: { parameters?: { name: string; type: Jsii }[] };
}

const snake = (camel: string): string => camel.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

/** Terraform's name of a config property: the anchor of its registry link, else its name in snake case. */
function tfName(p: JsiiProperty): string {
  const text = `${p.docs?.summary ?? ''} ${p.docs?.remarks ?? ''}`;
  return /Docs at Terraform Registry: \{@link \S+#(\w+) /.exec(text)?.[1] ?? snake(p.name);
}

/** The struct a property holds, and whether a list of them: blocks are structs in CDKTF's bindings. */
function structOf(type: Jsii, types: Record<string, JsiiType>): { fqn: string; list: boolean } | undefined {
  const isStruct = (fqn: unknown) => typeof fqn === 'string' && types[fqn]?.datatype === true;
  if (isStruct(type.fqn)) return { fqn: type.fqn as string, list: false };
  const collection = type.collection as { kind: string; elementtype: Jsii } | undefined;
  if (collection?.kind === 'array' && isStruct(collection.elementtype.fqn)) {
    return { fqn: collection.elementtype.fqn as string, list: true };
  }
  const union = (type.union as { types: Jsii[] } | undefined)?.types ?? [];
  for (const t of union) {
    const s = structOf(t, types);
    if (s) return s;
  }
  return undefined;
}

function blockSchema(fqn: string, types: Record<string, JsiiType>, seen: string[] = []): BlockSchema {
  if (seen.includes(fqn)) throw new Error(`recursive block ${fqn}`);
  const out: BlockSchema = { attributes: {}, blocks: {} };
  for (const p of types[fqn]?.properties ?? []) {
    const name = tfName(p);
    const struct = structOf(p.type, types);
    if (struct) {
      out.blocks[name] = {
        required: !p.optional,
        list: struct.list,
        ...blockSchema(struct.fqn, types, [...seen, fqn]),
      };
    } else {
      out.attributes[name] = !p.optional;
    }
  }
  return out;
}

const REPRESENTS =
  /Represents a \{@link https:\/\/registry\.terraform\.io\/providers\/[\w-]+\/[\w-]+\/([\d.]+)\/docs(?:\/(resources|data-sources)\/\w+)? ([\w-]+)\}/;

/** Reads one package's manifest; keeps full schemas only for `used` types (`data.x` for data sources). */
export function extract(
  pkg: string,
  jsii: { version: string; types: Record<string, JsiiType> },
  used: ReadonlySet<string>,
): ProviderSchema {
  const out: ProviderSchema = {
    package: pkg,
    packageVersion: jsii.version,
    providerVersion: '',
    resourceTypes: [],
    dataTypes: [],
    resources: {},
    data: {},
  };
  for (const type of Object.values(jsii.types)) {
    if (type.kind !== 'class') continue;
    const m = REPRESENTS.exec(type.docs?.summary ?? '');
    if (!m) continue;
    const [, version, kind, name] = m as unknown as [string, string, string | undefined, string];
    out.providerVersion ||= version;
    const config = type.initializer?.parameters?.find((p) => p.name === 'config')?.type.fqn as string;
    if (!kind) {
      out.provider = blockSchema(config, jsii.types);
      continue;
    }
    const isData = kind === 'data-sources';
    (isData ? out.dataTypes : out.resourceTypes).push(name);
    if (!used.has(isData ? `data.${name}` : name)) continue;
    const exported = (type.properties ?? [])
      .filter((p) => !p.static && !p.name.endsWith('Input'))
      .map((p) => snake(p.name));
    const schema: TypeSchema = {
      ...blockSchema(config, jsii.types),
      exported: [...new Set(exported)].sort(),
    };
    (isData ? out.data : out.resources)[name] = schema;
  }
  out.resourceTypes.sort();
  out.dataTypes.sort();
  return out;
}

/** Resource, data source and ephemeral types written in the .tf files under `dir` (`data.x` for data sources). */
export function usedTypes(dir: string): Set<string> {
  const used = new Set<string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && !e.name.startsWith('.')) walk(join(d, e.name));
      else if (e.name.endsWith('.tf')) {
        const text = readFileSync(join(d, e.name), 'utf8');
        for (const m of text.matchAll(/^(resource|data|ephemeral)\s+"([\w-]+)"/gm)) {
          used.add(m[1] === 'data' ? `data.${m[2]}` : m[2]!);
        }
      }
    }
  };
  walk(dir);
  return used;
}

/** Fetches each package's tarball with `npm pack` and reads its `.jsii` manifest (nothing is installed). */
export function generateSchema(terraformDir = join(REPO_ROOT, 'terraform')): SchemaFile {
  const used = usedTypes(terraformDir);
  const tmp = mkdtempSync(join(tmpdir(), 'nih-cxr-provider-schema-'));
  try {
    const providers: Record<string, ProviderSchema> = {};
    for (const [pkg, { version, provider }] of Object.entries(PACKAGES)) {
      const spec = `${pkg}@${version}`;
      const pack = spawnSync('npm', ['pack', spec, '--silent', '--pack-destination', tmp], {
        encoding: 'utf8',
      });
      if (pack.status !== 0) throw new Error(`npm pack ${spec} failed: ${pack.stderr}`);
      const tgz = join(tmp, pack.stdout.trim().split('\n').pop()!);
      const dir = join(tmp, provider);
      spawnSync('mkdir', ['-p', dir]);
      const untar = spawnSync('tar', ['xzf', tgz, '-C', dir, 'package/.jsii'], { encoding: 'utf8' });
      if (untar.status !== 0) throw new Error(`tar ${tgz}: ${untar.stderr}`);
      const jsii = JSON.parse(readFileSync(join(dir, 'package', '.jsii'), 'utf8'));
      // Ephemeral resources have no binding; the resource of the same name takes the same arguments.
      providers[provider] = extract(pkg, jsii, used);
      rmSync(dir, { recursive: true, force: true });
      rmSync(tgz, { force: true });
    }
    return { generatedBy: 'node scripts/gen-provider-schema.ts', providers };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const schema = generateSchema();
  writeFileSync(SCHEMA_FILE, `${JSON.stringify(schema, null, 2)}\n`);
  for (const [name, p] of Object.entries(schema.providers)) {
    console.log(
      `${name}: ${p.package}@${p.packageVersion} describes ${name} ${p.providerVersion}; ` +
        `${Object.keys(p.resources).length} resource and ${Object.keys(p.data).length} data source schemas kept`,
    );
  }
  console.log(`wrote ${SCHEMA_FILE}`);
}
