/**
 * A structural check of an OpenAPI 3.1 document and every JSON Schema 2020-12 in it: the
 * rules a validator such as swagger-parser enforces that a generated document can break
 * (path templates vs. path parameters, unique operationIds, responses, security scheme
 * names, $refs that resolve, schema keywords of the right type, patterns that compile).
 * Returns the problems as `<JSON pointer>: <problem>`; an empty list means valid.
 */

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const esc = (k: string): string => k.replace(/~/g, '~0').replace(/\//g, '~1');

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PATH_ITEM_KEYS = new Set([...METHODS, 'parameters', 'summary', 'description', 'servers', '$ref']);
const ROOT_KEYS = new Set(['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks', 'components', 'security', 'tags', 'externalDocs']);
const TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'string', 'integer']);
const SCHEME_TYPES = new Set(['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect']);
const NUMBER_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'];
const COUNT_KEYWORDS = ['minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties', 'minContains', 'maxContains'];
const SCHEMA_KEYWORDS = ['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'if', 'then', 'else', 'unevaluatedProperties', 'unevaluatedItems'];
const SCHEMA_LIST_KEYWORDS = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];

export function checkOpenApiDocument(doc: unknown): string[] {
  const problems: string[] = [];
  const fail = (at: string, msg: string): void => void problems.push(`${at || '/'}: ${msg}`);
  if (!isObj(doc)) return ['/: the document is not an object'];

  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) fail('/openapi', `must be 3.1.x, got ${JSON.stringify(doc.openapi)}`);
  for (const k of Object.keys(doc)) if (!ROOT_KEYS.has(k) && !k.startsWith('x-')) fail(`/${esc(k)}`, 'is not an OpenAPI field');
  const info = doc.info;
  if (!isObj(info) || typeof info.title !== 'string' || typeof info.version !== 'string') fail('/info', 'needs title and version strings');
  const components = isObj(doc.components) ? doc.components : {};
  const schemes = isObj(components.securitySchemes) ? components.securitySchemes : {};
  for (const [name, s] of Object.entries(schemes)) {
    if (!isObj(s) || typeof s.type !== 'string' || !SCHEME_TYPES.has(s.type)) fail(`/components/securitySchemes/${esc(name)}`, 'has no valid type');
    else if (s.type === 'http' && typeof s.scheme !== 'string') fail(`/components/securitySchemes/${esc(name)}`, 'http scheme needs "scheme"');
  }
  for (const [name, s] of Object.entries(isObj(components.schemas) ? components.schemas : {})) checkSchema(s, `/components/schemas/${esc(name)}`, fail);

  const checkSecurity = (sec: unknown, at: string): void => {
    if (sec === undefined) return;
    if (!Array.isArray(sec)) return fail(at, 'must be an array of security requirements');
    sec.forEach((req, i) => {
      if (!isObj(req)) return fail(`${at}/${i}`, 'must be an object');
      for (const [name, scopes] of Object.entries(req)) {
        if (!(name in schemes)) fail(`${at}/${i}`, `names security scheme "${name}", which components.securitySchemes does not define`);
        if (!Array.isArray(scopes)) fail(`${at}/${i}/${esc(name)}`, 'must be an array of scopes');
      }
    });
  };
  checkSecurity(doc.security, '/security');

  const operationIds = new Map<string, string>();
  if (!isObj(doc.paths)) fail('/paths', 'must be an object');
  for (const [path, item] of Object.entries(isObj(doc.paths) ? doc.paths : {})) {
    const at = `/paths/${esc(path)}`;
    if (!path.startsWith('/')) fail(at, 'path must start with /');
    if (!isObj(item)) {
      fail(at, 'path item must be an object');
      continue;
    }
    for (const k of Object.keys(item)) if (!PATH_ITEM_KEYS.has(k) && !k.startsWith('x-')) fail(`${at}/${esc(k)}`, 'is not a path item field');
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const shared: unknown[] = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      const op = item[method];
      if (op === undefined) continue;
      const opAt = `${at}/${method}`;
      if (!isObj(op)) {
        fail(opAt, 'operation must be an object');
        continue;
      }
      if (op.operationId !== undefined) {
        if (typeof op.operationId !== 'string') fail(`${opAt}/operationId`, 'must be a string');
        else if (operationIds.has(op.operationId)) fail(`${opAt}/operationId`, `"${op.operationId}" is also used at ${operationIds.get(op.operationId)}`);
        else operationIds.set(op.operationId, opAt);
      }
      const own: unknown[] = Array.isArray(op.parameters) ? op.parameters : [];
      const params = [...shared, ...own];
      checkParameters(params, templated, `${opAt}/parameters`, fail);
      checkSecurity(op.security, `${opAt}/security`);
      if (op.requestBody !== undefined) {
        const body = op.requestBody;
        if (!isObj(body) || !isObj(body.content) || Object.keys(body.content).length === 0) fail(`${opAt}/requestBody`, 'needs a non-empty content map');
        else checkContent(body.content, `${opAt}/requestBody/content`, fail);
      }
      if (!isObj(op.responses) || Object.keys(op.responses).length === 0) {
        fail(`${opAt}/responses`, 'must declare at least one response');
        continue;
      }
      for (const [status, resp] of Object.entries(op.responses)) {
        const rAt = `${opAt}/responses/${status}`;
        if (!/^([1-5](\d\d|XX)|default)$/.test(status)) fail(rAt, 'is not a status code');
        if (!isObj(resp) || (typeof resp.description !== 'string' && typeof resp.$ref !== 'string')) fail(rAt, 'needs a description');
        else if (resp.content !== undefined) checkContent(resp.content, `${rAt}/content`, fail);
      }
    }
  }
  checkRefs(doc, doc, '', fail);
  return problems;
}

function checkParameters(params: unknown[], templated: string[], at: string, fail: (at: string, msg: string) => void): void {
  const seen = new Set<string>();
  params.forEach((p, i) => {
    const pAt = `${at}/${i}`;
    if (!isObj(p)) return fail(pAt, 'must be an object');
    if (typeof p.$ref === 'string') return;
    if (typeof p.name !== 'string' || !['query', 'header', 'path', 'cookie'].includes(p.in as string)) return fail(pAt, 'needs a name and in: query|header|path|cookie');
    const key = `${p.in as string}:${p.name}`;
    if (seen.has(key)) fail(pAt, `duplicates the ${p.in as string} parameter "${p.name}"`);
    seen.add(key);
    if ((p.schema === undefined) === (p.content === undefined)) fail(pAt, 'needs exactly one of schema and content');
    if (p.schema !== undefined) checkSchema(p.schema, `${pAt}/schema`, fail);
    if (p.in === 'path') {
      if (p.required !== true) fail(pAt, 'a path parameter must be required: true');
      if (!templated.includes(p.name)) fail(pAt, `path parameter "${p.name}" is not in the path template`);
    }
  });
  for (const name of templated) {
    if (!params.some((p) => isObj(p) && p.in === 'path' && p.name === name)) fail(at, `path template {${name}} has no path parameter`);
  }
}

function checkContent(content: unknown, at: string, fail: (at: string, msg: string) => void): void {
  if (!isObj(content)) return fail(at, 'must be an object');
  for (const [type, media] of Object.entries(content)) {
    if (!/^[\w.+*-]+\/[\w.+*-]+$/.test(type)) fail(`${at}/${esc(type)}`, 'is not a media type');
    if (!isObj(media)) fail(`${at}/${esc(type)}`, 'must be a media type object');
    else if (media.schema !== undefined) checkSchema(media.schema, `${at}/${esc(type)}/schema`, fail);
  }
}

/** JSON Schema 2020-12: keyword value types, and the draft-07 forms 2020-12 dropped. */
export function checkSchema(schema: unknown, at: string, fail: (at: string, msg: string) => void): void {
  if (typeof schema === 'boolean') return;
  if (!isObj(schema)) return fail(at, 'a schema must be an object or a boolean');
  const s = schema;
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (types.length === 0 || types.some((t) => typeof t !== 'string' || !TYPES.has(t))) fail(`${at}/type`, `is not a JSON Schema type: ${JSON.stringify(s.type)}`);
  }
  if (s.properties !== undefined) {
    if (!isObj(s.properties)) fail(`${at}/properties`, 'must be an object');
    else for (const [k, v] of Object.entries(s.properties)) checkSchema(v, `${at}/properties/${esc(k)}`, fail);
  }
  if (s.patternProperties !== undefined) {
    if (!isObj(s.patternProperties)) fail(`${at}/patternProperties`, 'must be an object');
    else
      for (const [k, v] of Object.entries(s.patternProperties)) {
        checkPattern(k, `${at}/patternProperties/${esc(k)}`, fail);
        checkSchema(v, `${at}/patternProperties/${esc(k)}`, fail);
      }
  }
  if (s.required !== undefined && (!Array.isArray(s.required) || s.required.some((r) => typeof r !== 'string') || new Set(s.required).size !== s.required.length)) {
    fail(`${at}/required`, 'must be an array of distinct strings');
  }
  for (const k of SCHEMA_KEYWORDS) if (s[k] !== undefined) checkSchema(s[k], `${at}/${k}`, fail);
  for (const k of SCHEMA_LIST_KEYWORDS) {
    if (s[k] === undefined) continue;
    const list = s[k];
    if (!Array.isArray(list) || list.length === 0) fail(`${at}/${k}`, 'must be a non-empty array of schemas');
    else list.forEach((x, i) => checkSchema(x, `${at}/${k}/${i}`, fail));
  }
  if (s.additionalItems !== undefined) fail(`${at}/additionalItems`, 'is draft-07; 2020-12 uses prefixItems + items');
  for (const k of NUMBER_KEYWORDS) if (s[k] !== undefined && typeof s[k] !== 'number') fail(`${at}/${k}`, 'must be a number');
  for (const k of COUNT_KEYWORDS) if (s[k] !== undefined && !(Number.isInteger(s[k]) && (s[k] as number) >= 0)) fail(`${at}/${k}`, 'must be a non-negative integer');
  if (s.multipleOf !== undefined && !((s.multipleOf as number) > 0)) fail(`${at}/multipleOf`, 'must be > 0');
  if (s.enum !== undefined && (!Array.isArray(s.enum) || s.enum.length === 0)) fail(`${at}/enum`, 'must be a non-empty array');
  if (s.pattern !== undefined) {
    if (typeof s.pattern !== 'string') fail(`${at}/pattern`, 'must be a string');
    else checkPattern(s.pattern, `${at}/pattern`, fail);
  }
  for (const k of ['title', 'description', 'format', '$ref', '$id']) if (s[k] !== undefined && typeof s[k] !== 'string') fail(`${at}/${k}`, 'must be a string');
}

function checkPattern(pattern: string, at: string, fail: (at: string, msg: string) => void): void {
  try {
    new RegExp(pattern, 'u');
  } catch (err) {
    fail(at, `is not a valid regular expression (${(err as Error).message})`);
  }
}

function checkRefs(node: unknown, root: Obj, at: string, fail: (at: string, msg: string) => void): void {
  if (Array.isArray(node)) return node.forEach((n, i) => checkRefs(n, root, `${at}/${i}`, fail));
  if (!isObj(node)) return;
  if (typeof node.$ref === 'string') {
    const ref = node.$ref;
    if (!ref.startsWith('#/')) fail(`${at}/$ref`, `"${ref}" is not a local reference`);
    else {
      let target: unknown = root;
      for (const part of ref.slice(2).split('/')) {
        const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
        target = isObj(target) ? target[key] : undefined;
      }
      if (target === undefined) fail(`${at}/$ref`, `"${ref}" does not resolve`);
    }
  }
  for (const [k, v] of Object.entries(node)) checkRefs(v, root, `${at}/${esc(k)}`, fail);
}
