import fc from 'fast-check';
import type { Role } from '../../src/generated/prisma/enums';

/**
 * Requests generated from the app's own OpenAPI document: values that follow each route's schemas, and mutations of
 * them that a client could send by mistake or on purpose. Property tests and the security matrix read routes here.
 */

/** The part of JSON Schema that zod-to-openapi writes for our zod schemas. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  anyOf?: JsonSchema[];
  default?: unknown;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  method: string;
  /** OpenAPI style: /engagements/{id} */
  path: string;
  parameters: Parameter[];
  body?: JsonSchema;
  /** The roles allowed to call it (`x-roles`). */
  roles: Role[];
}

interface OpenApiDocument {
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown[];
        parameters?: Parameter[];
        requestBody?: { content: Record<string, { schema: JsonSchema }> };
        'x-roles'?: Role[];
      }
    >
  >;
}

/** Every operation that needs an API key: all of the API but the operational /health and /openapi.json. */
export function authenticatedOperations(doc: OpenApiDocument): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(([, op]) => op.security?.length)
      .map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        parameters: op.parameters ?? [],
        body: op.requestBody?.content['application/json']?.schema,
        roles: op['x-roles'] ?? [],
      })),
  );
}

export const describeOperation = (op: Operation) => `${op.method} ${op.path}`;

/** Ids that exist in the test's database, offered alongside random UUIDs so some requests reach the handlers. */
export interface KnownIds {
  uuids: string[];
}

const built = new WeakMap<KnownIds, WeakMap<JsonSchema, fc.Arbitrary<unknown>>>();

/** Values that follow `schema` (cross-field rules aside). Built once per schema: some arbitraries compile regexes. */
export function valueOf(schema: JsonSchema, known: KnownIds): fc.Arbitrary<unknown> {
  if (!built.has(known)) built.set(known, new WeakMap());
  const bySchema = built.get(known)!;
  if (!bySchema.has(schema)) bySchema.set(schema, buildValueOf(schema, known));
  return bySchema.get(schema)!;
}

function buildValueOf(schema: JsonSchema, known: KnownIds): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const any = schema.anyOf
    ? fc.oneof(...schema.anyOf.map((branch) => valueOf(branch, known)))
    : fc.oneof(...typesOf(schema).map((type) => valueOfType(type, schema, known)));
  // A default is a value the schema surely takes, where its refinements (time zones, money) are not in the document.
  return schema.default === undefined ? any : fc.oneof(fc.constant(schema.default), any);
}

function valueOfType(type: string, schema: JsonSchema, known: KnownIds): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({
        min: Math.max(schema.minimum ?? (schema.exclusiveMinimum ?? -1_000_001) + 1, -1_000_000),
        max: Math.min(schema.maximum ?? 1_000_000, 1_000_000),
      });
    case 'number':
      // Unbounded means any finite JSON number: a schema that forgets a bound meets 1e300 here.
      return fc.double({
        noNaN: true,
        noDefaultInfinity: true,
        min: schema.minimum ?? schema.exclusiveMinimum,
        minExcluded: schema.exclusiveMinimum !== undefined,
        max: schema.maximum,
      });
    case 'string':
      return stringOf(schema, known);
    case 'array':
      return fc.array(valueOf(schema.items ?? {}, known), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 3, Math.max(schema.minItems ?? 0, 3)),
      });
    case 'object':
      return fc.record(
        Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, s]) => [key, valueOf(s, known)])),
        { requiredKeys: schema.required ?? [] },
      );
    default:
      throw new Error(`no generator for JSON Schema type ${type}`);
  }
}

function stringOf(schema: JsonSchema, known: KnownIds): fc.Arbitrary<string> {
  if (schema.format === 'uuid') return fc.oneof(fc.constantFrom(...known.uuids), fc.uuid());
  if (schema.format === 'date') {
    return fc
      .date({ min: new Date('1990-01-01'), max: new Date('2100-12-31'), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
  }
  if (schema.format === 'email') {
    // fc.emailAddress() covers RFC 5322, most of which zod's (and most products') email check refuses.
    return fc.oneof(
      fc
        .tuple(fc.stringMatching(/^[a-z0-9._-]{1,12}$/), fc.stringMatching(/^[a-z]{1,10}$/))
        .map(([user, host]) => `${user}@${host}.example`),
      fc.emailAddress(),
    );
  }
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern));
  return fc.string({
    minLength: Math.max(schema.minLength ?? 0, 1),
    maxLength: Math.min(schema.maxLength ?? 40, 40),
    unit: 'grapheme',
  });
}

function typesOf(schema: JsonSchema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  return ['string', 'number', 'boolean', 'null', 'object', 'array'];
}

/**
 * A request part after one mutation. `expectField` is set when the mutation is invalid by the schema alone: the
 * answer must then be a 4xx that names this field (a `reason` fragment too, when given).
 */
export interface Mutated<T> {
  value: T;
  label: string;
  expectField?: string;
  expectReason?: string;
  /** Set when one value of a valid request was changed: a refusal must name it or a field next to it. */
  refusalNear?: string;
}

type Path = Array<string | number>;

/** A place in a JSON value, with the schema that describes it. */
export interface Spot {
  path: Path;
  schema: JsonSchema;
  value: unknown;
}

/** Strings that have broken systems before; some are valid input, the answer just must not be a 5xx. */
const NASTY_STRINGS = [
  '\u0000',
  'a\u0000b',
  '\uD800',
  'x\uDFFFy',
  '\u202Egnp.exe',
  '\u200B',
  '👩‍👩‍👧‍👦',
  'Ω≈ç√∫˜µ≤≥÷',
  '𝕿𝖍𝖊 𝖖𝖚𝖎𝖈𝖐',
  '\r\n\t',
  '<script>alert(1)</script>',
  `'; DROP TABLE "Vendor"; --`,
  '%00%2e%2e%2f',
  '${jndi:ldap://x}',
  '__proto__',
];

const EDGE_NUMBERS = [
  0,
  -0,
  -1,
  0.1,
  1.5,
  1e-10,
  1e9,
  1e10,
  2 ** 31,
  Number.MAX_SAFE_INTEGER,
  Number.MAX_SAFE_INTEGER + 2,
  1e21,
  1e300,
  -1e300,
  Number.MIN_VALUE,
];

const EDGE_DATES = ['0000-01-01', '0001-01-01', '1899-12-31', '1900-01-01', '1970-01-01', '2024-02-29', '9999-12-31'];

const EXTRA_KEYS = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'id', 'createdAt', 'vendorId', 'role', ''),
  fc.string({ maxLength: 20, unit: 'binary' }),
);

/** Values of every JSON type; the ones the schema does not allow make "wrong type" mutations. */
const SAMPLE_VALUES: Array<[string, unknown]> = [
  ['string', 'not-what-you-expected'],
  ['number', 12.5],
  ['integer', 7],
  ['boolean', true],
  ['object', { nested: { deeper: [] } }],
  ['array', ['a', 1, null]],
  ['null', null],
];

function allows(schema: JsonSchema, type: string, value: unknown): boolean {
  if (schema.anyOf) return schema.anyOf.some((branch) => allows(branch, type, value));
  if (schema.enum) return schema.enum.includes(value);
  const types = typesOf(schema);
  if (type === 'integer') return types.includes('integer') || types.includes('number');
  return types.includes(type);
}

/** Schemas that refuse a string made of one letter repeated far past any limit. */
function refusesHugeStrings(schema: JsonSchema): boolean {
  return (
    typesOf(schema).includes('string') &&
    !schema.anyOf &&
    (schema.maxLength !== undefined ||
      schema.enum !== undefined ||
      schema.format !== undefined ||
      schema.pattern !== undefined)
  );
}

function locations(schema: JsonSchema, value: unknown, path: Path): Spot[] {
  const here: Spot = { path, schema, value };
  if (Array.isArray(value) && schema.items) {
    return [here, ...value.flatMap((item, i) => locations(schema.items!, item, [...path, i]))];
  }
  if (isObject(value) && schema.properties) {
    return [
      here,
      ...Object.entries(value).flatMap(([key, child]) =>
        schema.properties![key] ? locations(schema.properties![key], child, [...path, key]) : [],
      ),
    ];
  }
  return [here];
}

const fieldName = (where: string, path: Path) => [where, ...path.map(String)].join('.');

/**
 * One mutation somewhere in a JSON body that follows `schema`, or in one of the valid `seeds`: rules across fields
 * (levels 1, 2, 3…; an end after its start) are not in the schema, and only a valid body reaches the database.
 */
export function mutatedBody(
  schema: JsonSchema,
  known: KnownIds,
  seeds: unknown[] = [],
): fc.Arbitrary<Mutated<unknown>> {
  const bodies = seeds.length ? fc.oneof(valueOf(schema, known), fc.constantFrom(...seeds)) : valueOf(schema, known);
  return bodies.chain((body) =>
    fc.constantFrom(...locations(schema, body, [])).chain((at) => fc.oneof(...mutationsAt(body, at))),
  );
}

function mutationsAt(body: unknown, at: Spot): Array<fc.Arbitrary<Mutated<unknown>>> {
  const field = fieldName('body', at.path);
  const set = (value: unknown) => setAt(body, at.path, value);
  const wrongTypes = SAMPLE_VALUES.filter(([type, value]) => !allows(at.schema, type, value));
  const options: Array<fc.Arbitrary<Mutated<unknown>>> = [];
  if (wrongTypes.length) {
    options.push(
      fc.constantFrom(...wrongTypes).map(([type, value]) => ({
        value: set(value),
        label: `${type} at ${field}`,
        // A top-level scalar is not JSON express.json accepts (strict): "malformed JSON" names the body.
        expectField: field,
      })),
    );
  }
  if (refusesHugeStrings(at.schema)) {
    options.push(
      fc.integer({ min: Math.max(at.schema.maxLength ?? 0, 200) + 1, max: 60_000 }).map((length) => ({
        value: set('x'.repeat(length)),
        label: `a ${length}-character string at ${field}`,
        expectField: field,
      })),
    );
  }
  if (typesOf(at.schema).includes('string')) {
    options.push(
      fc
        .oneof(fc.constantFrom(...NASTY_STRINGS), fc.string({ maxLength: 50, unit: 'binary' }))
        .map((s) => ({ value: set(s), label: `${JSON.stringify(s)} at ${field}` })),
    );
  }
  if (typesOf(at.schema).some((type) => type === 'number' || type === 'integer')) {
    options.push(fc.constantFrom(...EDGE_NUMBERS).map((n) => ({ value: set(n), label: `${n} at ${field}` })));
  }
  if (isObject(at.value) && at.schema.properties) {
    const present = (at.schema.required ?? []).filter((key) => key in (at.value as object));
    if (present.length) {
      options.push(
        fc.constantFrom(...present).map((key) => ({
          value: setAt(body, at.path, without(at.value as Record<string, unknown>, key)),
          label: `no ${field}.${key}`,
          expectField: fieldName('body', [...at.path, key]),
        })),
      );
    }
    const known = Object.keys(at.schema.properties);
    options.push(
      fc
        .tuple(
          EXTRA_KEYS.filter((key) => !known.includes(key)),
          fc.oneof(fc.string(), fc.integer(), fc.constant(null)),
        )
        .map(([key, extra]) => ({
          value: setAt(body, at.path, withOwn(at.value as Record<string, unknown>, key, extra)),
          label: `an extra key ${JSON.stringify(key)} in ${field}`,
          expectField: field,
          expectReason: 'Unrecognized key',
        })),
    );
  }
  return options;
}

/** The values in a valid body (a seed) that `editedAt` can replace. */
export function editableSpots(schema: JsonSchema, seed: unknown): Spot[] {
  return locations(schema, seed, []).filter((at) => at.path.length > 0 && edgesOf(at).length > 0);
}

/**
 * A valid body with the value at one spot replaced by an edge its JSON type allows: unicode and NUL, numbers at and
 * past every bound, dates from year 0 to 9999, pattern-valid extremes, empty and repeated lists. The API must store
 * it or refuse that value; a crash in the database is the bug this looks for.
 */
export function editedAt(seed: unknown, at: Spot): fc.Arbitrary<Mutated<unknown>> {
  return fc.oneof(...edgesOf(at)).map((value) => edited(seed, at, value));
}

/** Every fixed edge of editedAt at one spot, for a sweep that tries each of them once. */
export function everyFixedEdit(seed: unknown, at: Spot): Array<Mutated<unknown>> {
  return fixedEdgesOf(at).map((value) => edited(seed, at, value));
}

function edited(seed: unknown, at: Spot, value: unknown): Mutated<unknown> {
  return {
    value: setAt(seed, at.path, value),
    label: `${JSON.stringify(value)?.slice(0, 100)} at ${fieldName('body', at.path)}`,
    refusalNear: fieldName('body', at.path),
  };
}

function edgesOf(at: Spot): Array<fc.Arbitrary<unknown>> {
  const fixed = fixedEdgesOf(at);
  return [...(fixed.length ? [fc.constantFrom(...fixed)] : []), ...randomEdgesOf(at)];
}

/** The edges that are constants: unicode, numbers at and past every bound, dates, lengths, empty and doubled lists. */
function fixedEdgesOf({ schema, value }: Spot): unknown[] {
  if (schema.anyOf) return schema.anyOf.flatMap((branch) => fixedEdgesOf({ path: [], schema: branch, value }));
  const types = typesOf(schema);
  const edges: unknown[] = [];
  if (schema.enum) edges.push(...schema.enum);
  else if (types.includes('string')) {
    edges.push(...NASTY_STRINGS);
    if (schema.format === 'date') edges.push(...EDGE_DATES);
    if (schema.maxLength) edges.push('é'.repeat(schema.maxLength), ' '.repeat(schema.maxLength + 1));
  }
  if (types.includes('number') || types.includes('integer')) {
    const bounds = [schema.minimum, schema.maximum, schema.exclusiveMinimum].filter((n) => n !== undefined);
    edges.push(...EDGE_NUMBERS, ...bounds.flatMap((n) => [n - 1, n, n + 0.5, n + 1]));
  }
  if (types.includes('boolean')) edges.push(true, false);
  if (types.includes('null')) edges.push(null);
  if (Array.isArray(value)) edges.push([], [...value, ...value]);
  return edges;
}

/** The edges drawn at random: any string, and strings that match the field's pattern. */
function randomEdgesOf({ schema, value }: Spot): Array<fc.Arbitrary<unknown>> {
  if (schema.anyOf) return schema.anyOf.flatMap((branch) => randomEdgesOf({ path: [], schema: branch, value }));
  if (schema.enum || !typesOf(schema).includes('string')) return [];
  const edges: Array<fc.Arbitrary<unknown>> = [fc.string({ maxLength: 50, unit: 'binary' })];
  if (schema.pattern) edges.push(fc.stringMatching(new RegExp(schema.pattern)));
  return edges;
}

/** A path parameter that is not what the route declares (not a UUID, not one of the enum's values). */
export function mutatedPathParam(param: Parameter): fc.Arbitrary<Mutated<string>> {
  const fits = (s: string) =>
    param.schema.enum
      ? param.schema.enum.includes(s)
      : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
  return fc
    .oneof(
      fc.string({ minLength: 1, maxLength: 80, unit: 'binary' }),
      fc.constantFrom(...NASTY_STRINGS),
      fc.uuid().map((u) => u.replace(/-/g, '')),
      fc.uuid().map((u) => `{${u}}`),
      fc.uuid().map((u) => `${u} OR 1=1`),
      fc.constantFrom('0', '-1', 'null', 'undefined', 'NaN', 'true', '[]', '{}', 'x'.repeat(2000)),
    )
    .filter((s) => !fits(s) && s !== '.' && s !== '..' && encodes(s))
    .map((s) => ({
      value: encodeURIComponent(s),
      label: `path ${param.name} = ${JSON.stringify(s)}`,
      expectField: `path.${param.name}`,
    }));
}

/** Query parameters as a list of pairs (a name may repeat), valid for the route or with one mutation. */
export function mutatedQuery(params: Parameter[], known: KnownIds): fc.Arbitrary<Mutated<Array<[string, string]>>> {
  const declared = params.filter((p) => p.in === 'query');
  const names = declared.map((p) => p.name);
  const valid = fc.record(Object.fromEntries(declared.map((p) => [p.name, valueOf(p.schema, known).map(String)])), {
    requiredKeys: [],
  });
  return valid.chain((values) => {
    const pairs = Object.entries(values) as Array<[string, string]>;
    const options: Array<fc.Arbitrary<Mutated<Array<[string, string]>>>> = [
      fc
        .tuple(
          fc.string({ maxLength: 20 }).filter((key) => !names.includes(key)),
          fc.string({ maxLength: 20 }),
        )
        .map(([key, value]) => ({
          value: [...pairs, [key, value]],
          label: `unknown query ${JSON.stringify(key)}`,
          // Routes without a query schema ignore the query string.
          ...(declared.length && { expectField: 'query', expectReason: 'Unrecognized key' }),
        })),
    ];
    for (const param of declared) {
      const others = pairs.filter(([key]) => key !== param.name);
      options.push(
        badQueryValue(param.schema).map((bad) => ({
          value: [...others, [param.name, bad]],
          label: `query ${param.name} = ${JSON.stringify(bad)}`,
          expectField: `query.${param.name}`,
        })),
        fc.tuple(valueOf(param.schema, known), valueOf(param.schema, known)).map(([a, b]) => ({
          value: [...others, [param.name, String(a)], [param.name, String(b)]],
          label: `query ${param.name} given twice`,
          expectField: `query.${param.name}`,
        })),
        fc.constantFrom(...NASTY_STRINGS).map((s) => ({
          value: [...others, [param.name, s]],
          label: `query ${param.name} = ${JSON.stringify(s)}`,
        })),
      );
    }
    return fc.oneof(...options);
  });
}

/**
 * Headers for a route: each header parameter it declares (`in: header`) given a value its schema takes, one it
 * refuses (too long, empty), or a value of odd bytes, beside a header no route reads. A header can carry visible
 * ASCII and obs-text only (RFC 9110 field-value; Node's parser refuses the rest).
 */
export function mutatedHeaders(params: Parameter[]): fc.Arbitrary<Mutated<Record<string, string>>> {
  const fieldValue = (minLength: number, maxLength: number) =>
    fc.string({
      minLength,
      maxLength,
      unit: fc
        .oneof(fc.integer({ min: 0x21, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
        .map((c) => String.fromCharCode(c)),
    });
  const unread = fc
    .tuple(
      fc.stringMatching(/^[a-z][a-z-]{0,19}$/).filter((name) => name !== 'api-key'),
      fieldValue(1, 300),
    )
    .map(([name, value]) => ({ [`x-${name}`]: value }));
  const options: Array<fc.Arbitrary<Mutated<Record<string, string>>>> = [
    unread.map((value) => ({ value, label: `an unread header ${JSON.stringify(value)}` })),
  ];
  for (const param of params.filter((p) => p.in === 'header')) {
    const { minLength = 0, maxLength = 1000 } = param.schema;
    const field = `header.${param.name}`;
    const sent = (what: string, value: string, expectField?: string) => ({
      value: { [param.name]: value },
      label: `${param.name} ${what} (${value.length} characters)`,
      ...(expectField && { expectField }),
    });
    options.push(
      fieldValue(Math.max(minLength, 1), maxLength).map((value) => sent(JSON.stringify(value), value)),
      fc.integer({ min: maxLength + 1, max: maxLength + 4000 }).map((n) => sent('too long', 'k'.repeat(n), field)),
      ...(minLength > 0 ? [fc.constant(sent('empty', '', field))] : []),
    );
  }
  return fc.tuple(fc.oneof(...options), unread).map(([mutated, other]) => ({
    ...mutated,
    value: { ...other, ...mutated.value },
  }));
}

/** A query value its schema refuses, as text (all query values arrive as strings). */
function badQueryValue(schema: JsonSchema): fc.Arbitrary<string> {
  const types = typesOf(schema);
  if (schema.enum) return fc.string({ maxLength: 30 }).filter((s) => !schema.enum!.includes(s));
  if (types.includes('integer') || types.includes('number')) {
    const outside = [
      ...(schema.minimum !== undefined ? [String(schema.minimum - 1)] : []),
      ...(schema.maximum !== undefined ? [String(schema.maximum + 1)] : []),
    ];
    return fc.constantFrom('abc', '1.5', 'NaN', 'Infinity', '1e999', '--1', ...outside);
  }
  if (schema.format === 'uuid') return fc.constantFrom('not-a-uuid', '123', 'x'.repeat(36));
  if (schema.format === 'date') return fc.constantFrom('2026-02-30', '2026-13-01', 'yesterday', '0000-01-01', '26-1-1');
  if (schema.maxLength !== undefined)
    return fc.integer({ min: schema.maxLength + 1, max: 4000 }).map((n) => 'q'.repeat(n));
  throw new Error(`no invalid query value for ${JSON.stringify(schema)}`);
}

/** Unpaired surrogates cannot be percent-encoded (URIError): no client can put them in a URL. */
function encodes(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function setAt(root: unknown, path: Path, value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root)) return root.map((item, i) => (i === head ? setAt(item, rest, value) : item));
  const copy = copyOwn(root as Record<string, unknown>);
  Object.defineProperty(copy, head, {
    value: setAt((root as Record<string, unknown>)[head], rest, value),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

function without(object: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = copyOwn(object);
  delete copy[key];
  return copy;
}

/** Adds an own key even when it is `__proto__`, as JSON.parse on the server would see it. */
function withOwn(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = copyOwn(object);
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function copyOwn(object: Record<string, unknown>): Record<string, unknown> {
  return Object.defineProperties({}, Object.getOwnPropertyDescriptors(object));
}
