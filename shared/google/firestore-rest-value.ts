/**
 * Firestore's REST representation of values (google.firestore.v1.Value as JSON) to plain JavaScript, as the
 * SDK's `data()` gives them for the types label documents use; pure. 64-bit integers beyond 2^53 and bytes
 * are not in our documents and are refused rather than rounded.
 */

export interface RestValue {
  nullValue?: null;
  booleanValue?: boolean;
  integerValue?: string;
  doubleValue?: number | string;
  timestampValue?: string;
  stringValue?: string;
  referenceValue?: string;
  mapValue?: { fields?: Record<string, RestValue> };
  arrayValue?: { values?: RestValue[] };
  [other: string]: unknown;
}

export interface RestDocument {
  name: string;
  fields?: Record<string, RestValue>;
  createTime?: string;
  updateTime?: string;
}

/** google.rpc.Code by name, as the REST API reports errors (`error.status`). */
export const GRPC_CODES: Readonly<Record<string, number>> = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** The JavaScript value of a REST value: numbers, strings, booleans, null, arrays, objects; timestamps as ISO strings. */
export function fromRestValue(v: RestValue): unknown {
  if ('stringValue' in v) return v.stringValue;
  if ('integerValue' in v) {
    const n = Number(v.integerValue);
    if (!Number.isSafeInteger(n))
      throw new RangeError(`integer ${v.integerValue} is not a safe JavaScript number`);
    return n;
  }
  if ('doubleValue' in v) return Number(v.doubleValue); // "NaN", "Infinity" arrive as strings
  if ('booleanValue' in v) return v.booleanValue;
  if ('nullValue' in v) return null;
  if ('timestampValue' in v) return v.timestampValue;
  if ('referenceValue' in v) return v.referenceValue;
  if ('mapValue' in v) {
    const fields = v.mapValue?.fields ?? {};
    return Object.fromEntries(Object.entries(fields).map(([k, x]) => [k, fromRestValue(x)]));
  }
  if ('arrayValue' in v) return (v.arrayValue?.values ?? []).map(fromRestValue);
  throw new TypeError(`unsupported Firestore value: ${Object.keys(v).join(', ')}`);
}
