/**
 * Plain JavaScript to Firestore's REST representation of values (google.firestore.v1.Value as JSON), the
 * way the SDK's serializer encodes it: a safe integer (not -0) is an `integerValue`, any other number a
 * `doubleValue`; plain objects are maps, arrays arrays; `undefined` is refused, as the SDK refuses it. Only
 * the JSON types our documents hold (the reverse is shared/google/firestore-rest-value.ts); pure.
 */

/** A google.firestore.v1.Value as JSON, as sent. */
export type RestValueOut =
  | { nullValue: 'NULL_VALUE' }
  | { stringValue: string }
  | { booleanValue: boolean }
  | { integerValue: string }
  | { doubleValue: number | string }
  | { arrayValue: { values: RestValueOut[] } }
  | { mapValue: { fields: Record<string, RestValueOut> } };

export function toRestValue(v: unknown, path = 'value'): RestValueOut {
  if (v === null) return { nullValue: 'NULL_VALUE' };
  switch (typeof v) {
    case 'string':
      return { stringValue: v };
    case 'boolean':
      return { booleanValue: v };
    case 'number': {
      const negativeZero = v === 0 && 1 / v < 0;
      if (Number.isSafeInteger(v) && !negativeZero) return { integerValue: String(v) };
      // JSON has no NaN or Infinity: the REST API takes them as strings.
      return { doubleValue: Number.isFinite(v) ? v : String(v) };
    }
    case 'bigint':
      return { integerValue: v.toString() };
    case 'object': {
      if (Array.isArray(v))
        return { arrayValue: { values: v.map((x, i) => toRestValue(x, `${path}[${i}]`)) } };
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto === Object.prototype || proto === null) {
        return { mapValue: { fields: toRestFields(v as Record<string, unknown>, path) } };
      }
      break;
    }
    default:
      break;
  }
  throw new TypeError(
    `${path}: a Firestore document cannot hold ${v === undefined ? 'undefined' : typeof v}`,
  );
}

/** The `fields` of a document (or of a map value). */
export function toRestFields(o: Record<string, unknown>, path = 'document'): Record<string, RestValueOut> {
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, toRestValue(x, `${path}.${k}`)]));
}

/** A top-level field name as a field path: backquoted unless it is a simple identifier. */
export function fieldPath(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `\`${name.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}
