import AjvCompiler from '@fastify/ajv-compiler';
import type { FastifySchema, FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';

/*
 * How /v1 requests are checked against their route's JSON schemas. fastify's default Ajv
 * coerces types: "9.9", "1e2" and " 5" became the number an order was created for, and null
 * became "" or false. Here nothing is coerced:
 * - a JSON body must carry the declared JSON types; a wrong type is BAD_REQUEST naming the
 *   field (http/http-errors.ts). `null` for an optional field that is not nullable means the
 *   field is absent, as null does for a GraphQL input field.
 * - a query string or path parameter is text by nature, so a declared integer, number or
 *   boolean is read from its one canonical spelling (`first=20`, `starred=true`); any other
 *   spelling (`first=1e1`, `first= 5`, `starred=1`) stays text and fails the type check.
 * Defaults and the removal of undeclared properties are fastify's, unchanged.
 */
const compile = AjvCompiler()({}, { customOptions: { coerceTypes: false } }) as unknown as (route: { schema: unknown }) => Validate;

interface Validate {
  (data: unknown): boolean;
  errors?: FastifySchemaValidationError[] | null;
}

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
}

const types = (schema: JsonSchema): string[] => (Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Drops optional, non-nullable properties sent as null, at any depth. */
function dropNulls(schema: JsonSchema, data: unknown): void {
  if (Array.isArray(data) && schema.items) for (const item of data) dropNulls(schema.items, item);
  if (!isObject(data) || !schema.properties) return;
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (data[key] === null && !schema.required?.includes(key) && !types(prop).includes('null')) delete data[key];
    else dropNulls(prop, data[key]);
  }
}

const CANONICAL: Record<string, (text: string) => unknown> = {
  integer: (t) => (/^-?(0|[1-9]\d{0,14})$/.test(t) ? Number(t) : t),
  number: (t) => (/^-?(0|[1-9]\d{0,14})(\.\d{1,15})?$/.test(t) ? Number(t) : t),
  boolean: (t) => (t === 'true' ? true : t === 'false' ? false : t),
};

/** Reads the declared scalar types of a query string or path from their canonical text. */
function readText(schema: JsonSchema, data: unknown): void {
  if (!isObject(data) || !schema.properties) return;
  for (const [key, prop] of Object.entries(schema.properties)) {
    const value = data[key];
    const read = types(prop).map((t) => CANONICAL[t]).find(Boolean);
    if (typeof value === 'string' && read) data[key] = read(value);
  }
}

/** The route-level validator compiler of the /v1 routes (see above). */
export const strictValidatorCompiler: FastifySchemaCompiler<FastifySchema> = ({ schema, httpPart }) => {
  const validate = compile({ schema });
  const prepare = httpPart === 'body' ? dropNulls : httpPart === 'querystring' || httpPart === 'params' ? readText : undefined;
  const check: Validate = (data) => {
    prepare?.(schema as JsonSchema, data);
    const ok = validate(data);
    check.errors = validate.errors;
    return ok;
  };
  return check;
};
