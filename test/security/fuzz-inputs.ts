// The hostile inputs of the API fuzz (SECURITY 11), shared by the suite's fuzz test and the
// long fuzz run of the benchmarks: the routes of the OpenAPI document, a plausible body for
// each, and the values, bodies, content types and query strings that replace parts of it.

/** the password the fuzzed accounts hold */
export const FUZZ_PASSWORD = 'Old-Horse-Battery-7';

export type Schema = { type?: string; enum?: unknown[]; default?: unknown; properties?: Record<string, Schema>; required?: string[]; minimum?: number; anyOf?: Schema[] };
export interface Route {
  method: string;
  template: string;
  body: Schema | null;
}

export function routesOf(doc: { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Schema }> } }>> }): Route[] {
  const out: Route[] = [];
  for (const [template, ops] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(ops)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(m)) continue;
      out.push({ method: m.toUpperCase(), template, body: op.requestBody?.content?.['application/json']?.schema ?? null });
    }
  }
  // signing out last, so the session stays usable for the routes before it
  return out.sort((a, b) => Number(a.method === 'DELETE' && a.template === '/api/v1/session') - Number(b.method === 'DELETE' && b.template === '/api/v1/session'));
}

/** a plausible value for a field, so that only the mutated field is wrong */
export function plausible(name: string, s: Schema): unknown {
  if (s.default !== undefined) return s.default;
  if (s.enum) return s.enum[0];
  const type = s.type ?? s.anyOf?.[0]?.type;
  switch (type) {
    case 'integer':
    case 'number':
      return s.minimum ?? 1;
    case 'boolean':
      return false;
    case 'array':
      return [];
    case 'object':
      return {};
  }
  const byName: Record<string, string> = {
    username: 'alice',
    password: FUZZ_PASSWORD,
    currentPassword: FUZZ_PASSWORD,
    newPassword: 'Fuzz-Quartz-Pass-1',
    contact: 'alice@example.com',
    code: '12345678',
    value: 'alice.other@example.com',
    email: 'someone@example.com',
    mobile: '+972501111111',
    office: '+972502222222',
  };
  return byName[name] ?? 'fuzz';
}

export function baseline(schema: Schema | null): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(schema?.properties ?? {})) body[k] = plausible(k, s);
  return body;
}

const HUGE = 'x'.repeat(300_000);
/** values put in place of one field at a time */
export const FIELD_VALUES: unknown[] = [
  {}, [], null, true, false, 0, -1, 1.5, 1e308, '', ' ',
  { $gt: '' }, { $ne: null }, { $where: 'sleep(1000)' }, ['a', 'b'], [{}],
  '\ud800', '\udfff', 'a\ud800b', '\u202eevil\u202c', '\u200f\u202b\u061c', 'a\u0000b', '\u0000', '\uffff\ufffe',
  HUGE, "' OR '1'='1' --", '*)(uid=*))(|(uid=*', 'cn=admin,dc=example,dc=org', '{{7*7}}', '${7*7}', '<script>alert(1)</script>',
  '../../../etc/passwd', 'a\r\nBcc: evil@evil.example', '%00', '1e3', 'NaN', '__proto__', 'constructor',
];

/** whole bodies sent as application/json that no route taking a body may accept */
export const REFUSED_BODIES: string[] = [
  '[]', 'null', 'true', '0', '""', '1e400', '-0',
  '{"username":{"$gt":""}}',
  '{"username":{"$gt":""},"password":{"$gt":""}}',
  '{"__proto__":{"admin":true}}',
  '{"a":{"__proto__":{"admin":true}}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '{"a":[{"constructor":{"prototype":{"x":1}}}]}',
  JSON.stringify('a'.repeat(2 * 1024 * 1024)),
  JSON.stringify({ username: 'a'.repeat(2 * 1024 * 1024) }),
  '',
  '{"a":',
  '{"username":"alice",}',
  `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
];
/** odd but well-formed strings and broken encodings: any answer below 500 will do */
export const ODD_BODIES: (string | Buffer)[] = [
  '{}',
  '\ufeff{}',
  '{"username":"\\ud800","password":"\\udfff"}',
  '{"username":"al\\u0000ice","password":"x\\u0000"}',
  '{"username":"\u202ealice","method":"\u200femail"}',
  Buffer.from([0x7b, 0x22, 0x75, 0x73, 0x65, 0x72, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x22, 0x7d]),
  Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x00, 0x7d]),
];

export const CONTENT_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'application/jsonx',
  'text/plain; a=application/json',
  'application/x-www-form-urlencoded; application/json',
  'application/json-patch+json',
  '*/*',
];

export const QUERY = '?lang=en&lang=he&format=csv&format=json&limit=1&limit=2&limit=x&search=a&search=b&after=-1&after=x&target=a&target=b&__proto__[admin]=1&constructor[prototype][x]=1&refresh=5&refresh=6';
