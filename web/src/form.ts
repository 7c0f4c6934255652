/**
 * The filter builder, generated from the cohort filter's JSON Schema in the OpenAPI document: a fieldset per
 * object, checkboxes per list of enum values, a yes/no/any choice per boolean, number inputs with the
 * schema's bounds, text inputs with its pattern. New filter fields appear without a change here; anything
 * the generator does not know becomes a JSON text box. The form never validates on its own behalf: what
 * it reads is sent as is and the API's problem+json names any bad field.
 */
import { type Child, h, humanize } from './dom.ts';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  description?: string;
  pattern?: string;
  required?: string[];
  default?: unknown;
}

export interface Field {
  el: HTMLElement;
  /** The value for the request, or undefined when the control is left empty. */
  read(): unknown;
  write(value: unknown): void;
}

/** Friendlier names for the parts of the filter the generic humanize() reads poorly. */
const LABELS: Record<string, string> = {
  findings: 'NIH findings',
  all: 'All of',
  any: 'Any of',
  none: 'None of',
  noFinding: '"No Finding"',
  age: 'Age (years)',
  min: 'From',
  max: 'To',
  view: 'View position',
  patientIds: 'Patient ids',
  hasBoundingBox: 'Has a bounding box',
  expert: 'Expert labels (Google)',
  fourFindings: 'Four findings, adjudicated (2019)',
  allFindings: 'All findings (2021)',
  reader: 'One reader',
  set: 'Set',
  train_val: 'Train/val',
  airspaceOpacity: 'Airspace opacity',
  noduleOrMass: 'Nodule or mass',
  onePerPatient: 'One image per patient',
  firstFollowUp: 'first follow-up',
  lastFollowUp: 'last follow-up',
  sample: 'Sample',
  stratifyBy: 'Stratify by',
  ageBand: 'Age band',
  urls: 'URLs',
  gs: 'gs://',
  signed: 'signed HTTPS',
  png: 'PNG',
  dicom: 'DICOM',
  nih: 'NIH label',
  readers: 'each reader',
  imageFormat: 'Image file',
  expiresInSeconds: 'Signed URL lifetime (s)',
};

const label = (name: string): string => LABELS[name] ?? humanize(name);
const typeOf = (s: JsonSchema): string | undefined =>
  Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
const idOf = (path: string[]): string => `f-${path.join('-').replace(/[^\w-]/g, '_')}`;

function hint(path: string[], s: JsonSchema): { el: HTMLElement | null; attrs: Record<string, string> } {
  if (!s.description) return { el: null, attrs: {} };
  const id = `${idOf(path)}-hint`;
  return { el: h('p', { class: 'hint', id }, s.description), attrs: { 'aria-describedby': id } };
}

export function buildField(name: string, path: string[], s: JsonSchema, depth = 0): Field {
  const t = typeOf(s);
  if (t === 'object' && s.properties) return objectField(name, path, s, depth);
  if (t === 'array' && s.items?.enum) return enumListField(name, path, s, s.items.enum);
  if (t === 'array' && (typeOf(s.items ?? {}) === 'integer' || typeOf(s.items ?? {}) === 'number'))
    return numberListField(name, path, s);
  if (t === 'boolean') return booleanField(name, path, s);
  if (t === 'integer' || t === 'number') return numberField(name, path, s);
  if (t === 'string' && s.enum) return selectField(name, path, s, s.enum);
  if (t === 'string') return textField(name, path, s);
  return jsonField(name, path, s);
}

function objectField(name: string, path: string[], s: JsonSchema, depth: number): Field {
  const children = Object.entries(s.properties ?? {}).map(
    ([k, child]) => [k, buildField(k, [...path, k], child, depth + 1)] as const,
  );
  // The top level's description repeats the page's own introduction.
  const hintEl = depth === 0 ? null : hint(path, s).el;
  const body: Child[] = [...children.map(([, f]) => f.el), hintEl];
  const required = s.required?.length ? h('p', { class: 'hint' }, `Give ${s.required.join(', ')}.`) : null;
  // The top level is the form itself; nested objects fold away so the form stays short.
  const el =
    depth === 0
      ? h('div', { class: 'fields' }, body)
      : depth === 1 && !isSmall(s)
        ? h(
            'details',
            { class: 'group', id: idOf(path) },
            h('summary', {}, label(name)),
            h('fieldset', {}, h('legend', { class: 'visually-hidden' }, label(name)), required, body),
          )
        : h('fieldset', { class: 'group', id: idOf(path) }, h('legend', {}, label(name)), required, body);
  return {
    el,
    read() {
      const out: Record<string, unknown> = {};
      for (const [k, f] of children) {
        const v = f.read();
        if (v !== undefined) out[k] = v;
      }
      return Object.keys(out).length > 0 ? out : undefined;
    },
    write(value) {
      const v = value && typeof value === 'object' ? (value as Record<string, unknown>) : {};
      for (const [k, f] of children) f.write(v[k]);
      if (el instanceof HTMLDetailsElement && Object.keys(v).length > 0) el.open = true;
    },
  };
}

/** Objects whose fields are all short controls stay open (age range); lists of many checkboxes fold. */
const isSmall = (s: JsonSchema): boolean =>
  Object.values(s.properties ?? {}).every((p) => typeOf(p) === 'integer' || typeOf(p) === 'number');

function enumListField(name: string, path: string[], s: JsonSchema, values: unknown[]): Field {
  const boxes = values.map((v) => {
    const id = `${idOf(path)}-${String(v).replace(/[^\w-]/g, '_')}`;
    const input = h('input', { type: 'checkbox', id, value: String(v), name: path.join('.') });
    return { v, input, el: h('label', { class: 'check', for: id }, input, ` ${label(String(v))}`) };
  });
  const { el: hintEl, attrs } = hint(path, s);
  const el = h(
    'fieldset',
    { class: `choices${values.length > 4 ? ' many' : ''}`, id: idOf(path), ...attrs },
    h('legend', {}, label(name)),
    h(
      'div',
      { class: 'options' },
      boxes.map((b) => b.el),
    ),
    hintEl,
  );
  return {
    el,
    read() {
      const picked = boxes.filter((b) => b.input.checked).map((b) => b.v);
      return picked.length > 0 ? picked : undefined;
    },
    write(value) {
      const want = Array.isArray(value) ? value.map(String) : [];
      for (const b of boxes) b.input.checked = want.includes(String(b.v));
    },
  };
}

function control(name: string, path: string[], s: JsonSchema, input: HTMLElement): HTMLElement {
  const { el: hintEl, attrs } = hint(path, s);
  for (const [k, v] of Object.entries(attrs)) input.setAttribute(k, v);
  return h('div', { class: 'control' }, h('label', { for: input.id }, label(name)), input, hintEl);
}

function booleanField(name: string, path: string[], s: JsonSchema): Field {
  const select = h(
    'select',
    { id: idOf(path), name: path.join('.') },
    h('option', { value: '' }, 'any'),
    h('option', { value: 'true' }, 'yes'),
    h('option', { value: 'false' }, 'no'),
  );
  return {
    el: control(name, path, s, select),
    read: () => (select.value === '' ? undefined : select.value === 'true'),
    write(value) {
      select.value = value === true ? 'true' : value === false ? 'false' : '';
    },
  };
}

/** A number as typed: a valid one becomes a number, anything else goes as text for the API to refuse. */
const numeric = (text: string): unknown => (/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text);

function numberField(name: string, path: string[], s: JsonSchema): Field {
  const input = h('input', {
    id: idOf(path),
    name: path.join('.'),
    type: 'number',
    inputmode: 'numeric',
    min: s.minimum,
    max: s.maximum,
    step: typeOf(s) === 'integer' ? 1 : 'any',
  });
  return {
    el: control(name, path, s, input),
    read: () => (input.value.trim() === '' ? undefined : numeric(input.value.trim())),
    write(value) {
      input.value = typeof value === 'number' ? String(value) : '';
    },
  };
}

function numberListField(name: string, path: string[], s: JsonSchema): Field {
  const input = h('input', { id: idOf(path), name: path.join('.'), type: 'text', inputmode: 'numeric' });
  input.placeholder = 'e.g. 1, 2, 30';
  return {
    el: control(name, path, s, input),
    read() {
      const parts = input.value.split(/[\s,;]+/).filter(Boolean);
      return parts.length > 0 ? parts.map(numeric) : undefined;
    },
    write(value) {
      input.value = Array.isArray(value) ? value.join(', ') : '';
    },
  };
}

function selectField(name: string, path: string[], s: JsonSchema, values: unknown[]): Field {
  const none = s.default === undefined ? '(none)' : `(default: ${label(String(s.default))})`;
  const select = h(
    'select',
    { id: idOf(path), name: path.join('.') },
    h('option', { value: '' }, none),
    values.map((v) => h('option', { value: String(v) }, label(String(v)))),
  );
  return {
    el: control(name, path, s, select),
    read: () => (select.value === '' ? undefined : select.value),
    write(value) {
      select.value = typeof value === 'string' ? value : '';
    },
  };
}

function textField(name: string, path: string[], s: JsonSchema): Field {
  const input = h('input', { id: idOf(path), name: path.join('.'), type: 'text', pattern: s.pattern });
  return {
    el: control(name, path, s, input),
    read: () => (input.value.trim() === '' ? undefined : input.value.trim()),
    write(value) {
      input.value = typeof value === 'string' ? value : '';
    },
  };
}

/** A part of the schema the generator has no control for: edited as JSON, sent as parsed (or as text). */
function jsonField(name: string, path: string[], s: JsonSchema): Field {
  const area = h('textarea', { id: idOf(path), name: path.join('.'), rows: 2, spellcheck: 'false' });
  area.placeholder = 'JSON';
  return {
    el: control(name, path, s, area),
    read() {
      const text = area.value.trim();
      if (text === '') return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    },
    write(value) {
      area.value = value === undefined ? '' : JSON.stringify(value);
    },
  };
}

/** The filter schema inside the OpenAPI document: the `filter` property of the cohort query's body. */
export function filterSchemaOf(openapi: unknown): JsonSchema {
  const body = requestBodySchema(openapi, '/v1/cohorts:query');
  const filter = body?.properties?.filter;
  if (!filter) throw new Error('the OpenAPI document has no cohort filter schema');
  return filter;
}

/**
 * The dataset-building options: what the summary request takes besides the filter (onePerPatient, sample,
 * and whatever is added there later); the query and export requests take the same.
 */
export function optionsSchemaOf(openapi: unknown): JsonSchema {
  const body = requestBodySchema(openapi, '/v1/cohorts:summary');
  const { filter: _filter, ...properties } = body?.properties ?? {};
  return { type: 'object', properties };
}

export function requestBodySchema(openapi: unknown, path: string): JsonSchema | undefined {
  const doc = openapi as {
    paths?: Record<
      string,
      { post?: { requestBody?: { content?: Record<string, { schema?: JsonSchema }> } } }
    >;
  };
  return doc.paths?.[path]?.post?.requestBody?.content?.['application/json']?.schema;
}
