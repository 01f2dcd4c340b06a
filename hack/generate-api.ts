/**
 * Generates operator/src/api/generated.ts from the CRDs in crds/*.yaml, which are the one source of truth for the
 * API (docs/adr/0001-crd-yaml-is-the-source-of-truth.md).
 *
 *   node hack/generate-api.ts           write operator/src/api/generated.ts
 *   node hack/generate-api.ts --check   exit 1 when the committed file differs from what the YAML produces
 *
 * Besides generating, it enforces what a reviewer would otherwise have to check by eye: every field has a
 * description, every CEL rule has a message, group/version/names agree with operator/src/api/constants.ts, and
 * schemas that share a TypeScript name (the evaluation gate of TrainingPipeline and ModelVersion, for one) are
 * identical.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { parse } from 'yaml';
import { GROUP, KINDS, VERSION } from '../operator/src/api/constants.ts';

/** The subset of a structural OpenAPI v3 schema the generator understands. */
export interface Schema {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema | boolean;
  enum?: unknown[];
  default?: unknown;
  format?: string;
  anyOf?: Schema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message?: string; messageExpression?: string }[];
  [other: string]: unknown;
}

export interface Crd {
  metadata: { name: string };
  spec: {
    group: string;
    names: { kind: string; plural: string; singular?: string; shortNames?: string[]; categories?: string[] };
    versions: { name: string; storage?: boolean; schema?: { openAPIV3Schema: Schema } }[];
  };
}

export interface ExternalType {
  name: string;
  from: string;
}

export interface GenerateOptions {
  /**
   * Names of the TypeScript types for object and enum schemas, by path: `Kind.spec.a.b`, `[]` for array items,
   * `{}` for map values; `*` in place of the kind matches every kind. Unnamed objects get the parent's name plus
   * the property name; unnamed enums are written inline as unions.
   */
  typeNames?: Record<string, string>;
  /** Schemas rendered as an imported type instead, by path (same syntax). */
  externalTypes?: Record<string, ExternalType>;
}

export class GenerateError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'GenerateError';
  }
}

const K8S = '@kubernetes/client-node';

/** The names used for this repository's CRDs. */
export const TYPE_NAMES: Record<string, string> = {
  'TrainingPipeline.spec.data': 'TrainingData',
  'TrainingPipeline.spec.triggers': 'PipelineTriggers',
  'TrainingPipeline.spec.triggers.schedule': 'ScheduleTrigger',
  'TrainingPipeline.spec.triggers.schedule.catchUp': 'CatchUpPolicy',
  'TrainingPipeline.spec.triggers.data': 'DataTrigger',
  'TrainingPipeline.spec.concurrencyPolicy': 'ConcurrencyPolicy',
  'TrainingPipeline.spec.dataValidation': 'DataValidation',
  'TrainingPipeline.spec.dataValidation.format': 'DataFormat',
  'TrainingPipeline.spec.dataValidation.columns[]': 'ColumnCheck',
  'TrainingPipeline.spec.dataValidation.columns[].type': 'ColumnType',
  'TrainingPipeline.spec.training': 'TrainingSpec',
  '*.spec.training.resources': 'ComputeResources',
  'TrainingPipeline.spec.sweep': 'SweepSpec',
  'TrainingPipeline.spec.sweep.algorithm': 'SweepAlgorithm',
  'TrainingPipeline.spec.sweep.objective': 'SweepObjective',
  'TrainingPipeline.spec.sweep.objective.goal': 'ObjectiveGoal',
  'TrainingPipeline.spec.artifacts': 'ArtifactsSpec',
  'TrainingPipeline.spec.history': 'HistoryLimits',
  '*.spec.evaluation': 'EvaluationSpec',
  '*.spec.evaluation.dataset': 'EvaluationDataset',
  '*.spec.evaluation.dataset.format': 'DataFormat',
  '*.spec.evaluation.metrics[]': 'MetricThreshold',
  '*.spec.evaluation.baseline': 'BaselineSpec',
  '*.spec.evaluation.baseline.onMissing': 'OnMissingBaseline',
  'TrainingPipeline.status.phase': 'TrainingPipelinePhase',
  'TrainingPipeline.status.runs[]': 'PipelineRun',
  'TrainingPipeline.status.runs[].trigger': 'RunTrigger',
  'TrainingPipeline.status.runs[].phase': 'RunPhase',
  'TrainingPipeline.status.runs[].trials[]': 'SweepTrial',
  'TrainingPipeline.status.runs[].trials[].phase': 'TrialPhase',
  '*.status.lastCommand': 'CommandRecord',
  'ModelVersion.spec.artifact': 'ModelArtifact',
  'ModelVersion.spec.artifact.format': 'ArtifactFormat',
  'ModelVersion.spec.source': 'ModelSource',
  'ModelVersion.status.phase': 'ModelVersionPhase',
  'ModelVersion.status.gate': 'GateStatus',
  'ModelVersion.status.gate.baseline': 'GateBaseline',
  'ModelVersion.status.gate.checks[]': 'GateCheck',
  'ModelVersion.status.gate.checks[].type': 'GateCheckType',
  'ModelVersion.status.serving[]': 'ServingRef',
  'ModelVersion.status.serving[].role': 'ServingRole',
  'InferenceService.spec.promotion': 'PromotionPolicy',
  'InferenceService.spec.git': 'GitTarget',
  'InferenceService.spec.runtime': 'RuntimeSpec',
  'InferenceService.spec.runtime.resources': 'ComputeResources',
  'InferenceService.spec.runtime.batching': 'BatchingSpec',
  'InferenceService.spec.traffic': 'TrafficSpec',
  'InferenceService.spec.traffic.gatewayAPI': 'GatewayAPITraffic',
  'InferenceService.spec.traffic.gatewayAPI.parentRefs[]': 'GatewayParentRef',
  'InferenceService.spec.rollout': 'RolloutSpec',
  'InferenceService.spec.rollout.steps[]': 'RolloutStep',
  'InferenceService.spec.rollout.steps[].pause': 'PauseStep',
  'InferenceService.spec.rollout.steps[].analysis': 'AnalysisStep',
  'InferenceService.spec.rollout.analysis': 'AnalysisSpec',
  'InferenceService.spec.rollout.analysis.metrics[]': 'AnalysisMetric',
  'InferenceService.spec.rollout.analysis.metrics[].builtin': 'BuiltinMetric',
  'InferenceService.spec.rollout.analysis.metrics[].prometheus': 'PrometheusQuery',
  'InferenceService.status.phase': 'InferenceServicePhase',
  'InferenceService.status.stable': 'StableStatus',
  'InferenceService.status.canary': 'CanaryStatus',
  'InferenceService.status.canary.analysis': 'AnalysisStatus',
  'InferenceService.status.canary.analysis.lastResult': 'MeasurementResult',
  'InferenceService.status.canary.analysis.measurements[]': 'Measurement',
  'InferenceService.status.canary.analysis.measurements[].result': 'MeasurementResult',
  'InferenceService.status.history[]': 'PromotionRecord',
  'InferenceService.status.lastAbort': 'AbortRecord',
  'InferenceService.status.pullRequest': 'PullRequestStatus',
  'InferenceService.status.pullRequest.state': 'PullRequestState',
};

/** Pod-template pieces keep the client library's types, so controllers can copy them into a PodSpec as they are. */
export const EXTERNAL_TYPES: Record<string, ExternalType> = {
  '*.status.conditions[]': { name: 'Condition', from: './conditions.ts' },
  '*.spec.training.tolerations[]': { name: 'V1Toleration', from: K8S },
  '*.spec.training.env[]': { name: 'V1EnvVar', from: K8S },
  '*.spec.training.volumes[]': { name: 'V1Volume', from: K8S },
  '*.spec.training.volumeMounts[]': { name: 'V1VolumeMount', from: K8S },
  '*.spec.runtime.tolerations[]': { name: 'V1Toleration', from: K8S },
};

const HEADER = [
  '// Code generated by hack/generate-api.ts from crds/*.yaml. DO NOT EDIT.',
  '// Change the CRD YAML, then run `npm run generate`.',
  '',
].join('\n');

interface Emitted {
  key: string;
  where: string;
}

class Generator {
  private readonly typeNames: Record<string, string>;
  private readonly externalTypes: Record<string, ExternalType>;
  private readonly emitted = new Map<string, Emitted>();
  private readonly imports = new Map<string, Set<string>>();
  private readonly blocks: string[] = [];
  readonly problems: string[] = [];

  constructor(options: GenerateOptions) {
    this.typeNames = options.typeNames ?? {};
    this.externalTypes = options.externalTypes ?? {};
  }

  kind(crd: Crd): void {
    const kind = crd.spec.names.kind;
    const version = crd.spec.versions.find((v) => v.storage) ?? crd.spec.versions[0];
    const root = version?.schema?.openAPIV3Schema;
    if (!version || !root) {
      this.problems.push(`${crd.metadata.name}: no version with an openAPIV3Schema`);
      return;
    }
    const props = root.properties ?? {};
    this.checkValidations(kind, root);
    for (const field of ['apiVersion', 'kind'] as const) {
      if (props[field] && !props[field].description) this.problems.push(`${kind}.${field}: no description`);
    }
    const apiVersion = `${crd.spec.group}/${version.name}`;
    const lines = [doc(root.description, undefined), `export interface ${kind} {`];
    lines.push(`apiVersion: ${quote(apiVersion)};`, `kind: ${quote(kind)};`, 'metadata: V1ObjectMeta;');
    this.addImport('V1ObjectMeta', K8S);
    for (const part of ['spec', 'status'] as const) {
      const schema = props[part];
      if (!schema) continue;
      const name = this.objectType(schema, `${kind}.${part}`, `${kind}${pascal(part)}`);
      const optional = (root.required ?? []).includes(part) ? '' : '?';
      lines.push(doc(schema.description, undefined), `${part}${optional}: ${name};`);
    }
    lines.push('}');
    this.addImport('V1ListMeta', K8S);
    const list = [
      `/** A list of ${kind} objects. */`,
      `export interface ${kind}List {`,
      `apiVersion: ${quote(apiVersion)};`,
      `kind: ${quote(`${kind}List`)};`,
      'metadata: V1ListMeta;',
      `items: ${kind}[];`,
      '}',
    ];
    // The object type goes before the types it uses, so the file reads top-down.
    this.blocks.splice(this.firstBlockOf.get(kind) ?? this.blocks.length, 0, lines.join('\n'), list.join('\n'));
  }

  private readonly firstBlockOf = new Map<string, number>();

  startKind(kind: string): void {
    this.firstBlockOf.set(kind, this.blocks.length);
  }

  render(): string {
    const importLines = [...this.imports.entries()]
      .sort(([a], [b]) => (a.startsWith('.') === b.startsWith('.') ? a.localeCompare(b) : a.startsWith('.') ? 1 : -1))
      .map(([from, names]) => `import type { ${[...names].sort().join(', ')} } from ${quote(from)};`);
    return [HEADER, importLines.join('\n'), '', this.blocks.join('\n\n'), ''].join('\n');
  }

  private addImport(name: string, from: string): void {
    const set = this.imports.get(from) ?? new Set<string>();
    set.add(name);
    this.imports.set(from, set);
  }

  private lookup<T>(table: Record<string, T>, p: string): T | undefined {
    return table[p] ?? table[p.replace(/^[^.]+/, '*')];
  }

  private checkValidations(p: string, schema: Schema): void {
    for (const v of schema['x-kubernetes-validations'] ?? []) {
      if (!v.message && !v.messageExpression) {
        this.problems.push(`${p}: CEL rule "${v.rule}" has no message; users only see the message`);
      }
    }
  }

  /** Emits (once) the interface for an object schema and returns its name. */
  private objectType(schema: Schema, p: string, fallbackName: string): string {
    const name = this.lookup(this.typeNames, p) ?? fallbackName;
    const key = canonical(schema);
    const seen = this.emitted.get(name);
    if (seen) {
      if (seen.key !== key) {
        this.problems.push(
          `${p} and ${seen.where} are both named ${name} but their schemas differ; make them identical`,
        );
      }
      return name;
    }
    this.emitted.set(name, { key, where: p });
    const index = this.blocks.length;
    this.blocks.push(''); // reserve the slot so the interface precedes the types it uses
    const required = new Set(schema.required ?? []);
    const members: string[] = [];
    for (const [prop, child] of Object.entries(schema.properties ?? {})) {
      const childPath = `${p}.${prop}`;
      if (!child.description) this.problems.push(`${childPath}: no description`);
      this.checkValidations(childPath, child);
      const type = this.typeOf(child, childPath, `${name}${pascal(prop)}`);
      const optional = required.has(prop) ? '' : '?';
      members.push(doc(child.description, child.default), `${safeKey(prop)}${optional}: ${type};`);
    }
    if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
      const value = this.typeOf(schema.additionalProperties, `${p}{}`, `${name}Value`);
      members.push(`[key: string]: ${value};`);
    } else if (schema['x-kubernetes-preserve-unknown-fields']) {
      members.push('[key: string]: unknown;');
    }
    this.blocks[index] = [doc(schema.description, undefined), `export interface ${name} {`, ...members, '}'].join('\n');
    return name;
  }

  private typeOf(schema: Schema, p: string, fallbackName: string): string {
    this.checkValidations(p, schema);
    const external = this.lookup(this.externalTypes, p);
    if (external) {
      this.addImport(external.name, external.from);
      return external.name;
    }
    if (schema['x-kubernetes-int-or-string']) return 'number | string';
    if (schema.enum) return this.enumType(schema, p);
    switch (schema.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (!schema.items) {
          this.problems.push(`${p}: array without items`);
          return 'unknown[]';
        }
        const item = this.typeOf(schema.items, `${p}[]`, `${fallbackName}Item`);
        return item.includes(' ') ? `(${item})[]` : `${item}[]`;
      }
      case 'object':
        if (schema.properties) return this.objectType(schema, p, fallbackName);
        if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
          return `Record<string, ${this.typeOf(schema.additionalProperties, `${p}{}`, `${fallbackName}Value`)}>`;
        }
        return 'Record<string, unknown>';
      default:
        this.problems.push(`${p}: no type (only x-kubernetes-int-or-string may omit it)`);
        return 'unknown';
    }
  }

  private enumType(schema: Schema, p: string): string {
    const union = (schema.enum ?? []).map((v) => (typeof v === 'string' ? quote(v) : JSON.stringify(v))).join(' | ');
    const name = this.lookup(this.typeNames, p);
    if (!name) return union;
    const key = JSON.stringify(schema.enum);
    const seen = this.emitted.get(name);
    if (seen) {
      if (seen.key !== key)
        this.problems.push(`${p} and ${seen.where} are both named ${name} but have different values`);
      return name;
    }
    this.emitted.set(name, { key, where: p });
    this.blocks.push(
      `/** One of ${(schema.enum ?? []).map((v) => JSON.stringify(v)).join(', ')}. */\nexport type ${name} = ${union};`,
    );
    return name;
  }
}

/**
 * Returns the TypeScript source (prettier-formatted) for the given CRDs. Throws GenerateError listing every problem
 * found (missing descriptions, CEL rules without messages, conflicting shared types).
 */
export async function generateApi(crds: readonly Crd[], options: GenerateOptions = {}): Promise<string> {
  const gen = new Generator(options);
  for (const crd of crds) {
    gen.startKind(crd.spec.names.kind);
    gen.kind(crd);
  }
  if (gen.problems.length > 0) {
    throw new GenerateError(`the CRD schemas have ${gen.problems.length} problem(s):\n  ${gen.problems.join('\n  ')}`);
  }
  return prettier.format(gen.render(), { ...PRETTIER_OPTIONS, parser: 'typescript' });
}

/** The repository's .prettierrc.json, read once, so output does not depend on where the generator runs. */
const PRETTIER_OPTIONS: prettier.Options = JSON.parse(
  readFileSync(new URL('../.prettierrc.json', import.meta.url), 'utf8'),
) as prettier.Options;

/** Checks that the CRDs agree with operator/src/api/constants.ts and carry the category `mlops`. */
export function checkConstants(crds: readonly Crd[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const crd of crds) {
    const n = crd.spec.names;
    const info = KINDS.find((k) => k.kind === n.kind);
    if (!info) {
      problems.push(`${crd.metadata.name}: kind ${n.kind} is not in KINDS (operator/src/api/constants.ts)`);
      continue;
    }
    seen.add(n.kind);
    if (crd.spec.group !== GROUP)
      problems.push(`${crd.metadata.name}: group ${crd.spec.group}, constants say ${GROUP}`);
    if (crd.metadata.name !== `${info.plural}.${GROUP}`) {
      problems.push(`${crd.metadata.name}: expected name ${info.plural}.${GROUP}`);
    }
    if (n.plural !== info.plural || n.singular !== info.singular) {
      problems.push(`${crd.metadata.name}: plural/singular ${n.plural}/${n.singular ?? ''} differ from constants`);
    }
    if (JSON.stringify(n.shortNames ?? []) !== JSON.stringify(info.shortNames)) {
      problems.push(`${crd.metadata.name}: shortNames ${JSON.stringify(n.shortNames)} differ from constants`);
    }
    if (!(n.categories ?? []).includes('mlops')) problems.push(`${crd.metadata.name}: not in category mlops`);
    const storage = crd.spec.versions.find((v) => v.storage);
    if (storage?.name !== VERSION) problems.push(`${crd.metadata.name}: storage version is not ${VERSION}`);
  }
  for (const k of KINDS) {
    if (!seen.has(k.kind)) problems.push(`no CRD for kind ${k.kind} in crds/`);
  }
  return problems;
}

/**
 * Reads the CRDs from the *.yaml files of a folder, in file-name order. Other documents (the folder's
 * kustomization.yaml) are skipped; checkConstants notices a CRD that is missing.
 */
export function loadCrds(dir: string): Crd[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort();
  const crds: Crd[] = [];
  for (const f of files) {
    const doc = parse(readFileSync(path.join(dir, f), 'utf8')) as (Crd & { kind?: string }) | null;
    if (doc?.kind === 'CustomResourceDefinition') crds.push(doc);
  }
  return crds;
}

function doc(description: string | undefined, defaultValue: unknown): string {
  if (!description && defaultValue === undefined) return '';
  const lines = description ? wrap(description.replace(/\*\//g, '*\\/'), 110) : [];
  if (defaultValue !== undefined) lines.push(`@defaultValue \`${JSON.stringify(defaultValue)}\``);
  if (lines.length === 1) return `/** ${lines[0]} */`;
  return ['/**', ...lines.map((l) => ` * ${l}`), ' */'].join('\n');
}

/** Word-wraps text; a word that starts with `@` is never put first on a line, where JSDoc would read it as a tag. */
function wrap(text: string, width: number): string[] {
  const words: string[] = [];
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (w.startsWith('@') && words.length > 0) words[words.length - 1] += ` ${w}`;
    else words.push(w);
  }
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push(line);
  return lines;
}

function pascal(s: string): string {
  return s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function safeKey(k: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? k : quote(k);
}

/** JSON with sorted keys, so two copies of one schema compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

async function main(argv: readonly string[]): Promise<number> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const out = path.join(root, 'operator/src/api/generated.ts');
  const rel = path.relative(root, out);
  const crds = loadCrds(path.join(root, 'crds'));
  const problems = checkConstants(crds);
  if (problems.length > 0) {
    console.error(`crds/ disagree with operator/src/api/constants.ts:\n  ${problems.join('\n  ')}`);
    return 1;
  }
  const text = await generateApi(crds, { typeNames: TYPE_NAMES, externalTypes: EXTERNAL_TYPES });
  if (!argv.includes('--check')) {
    writeFileSync(out, text);
    console.log(`wrote ${rel} from ${crds.length} CRDs`);
    return 0;
  }
  let current: string;
  try {
    current = readFileSync(out, 'utf8');
  } catch {
    console.error(`${rel} does not exist: run \`npm run generate\` and commit it`);
    return 1;
  }
  if (current === text) {
    console.log(`${rel} is up to date with crds/*.yaml`);
    return 0;
  }
  const a = current.split('\n');
  const b = text.split('\n');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  console.error(
    [
      `${rel} is out of date with crds/*.yaml (or was edited by hand).`,
      `First difference at line ${i + 1}:`,
      `  committed: ${a[i] ?? '<end of file>'}`,
      `  generated: ${b[i] ?? '<end of file>'}`,
      'Run `npm run generate` and commit the result.',
    ].join('\n'),
  );
  return 1;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
