// Loopback SMART App Launch 2.0 authorization server for the SMART app tests: oidc-provider (a certified OpenID
// provider) configured as an EHR's authorization server. It checks what an EHR checks: PKCE S256 (always required),
// `aud` = the FHIR base, `launch` bound to a launch context the test registered, the client's registered scopes, client
// authentication (none / client_secret_basic / private_key_jwt ES384 or RS384). It issues JWT access tokens (RS256)
// that the test FHIR server verifies against this server's JWKS, with `patient` in the token response and the token.
// Login and consent are automatic (user dr-test); standalone `launch/patient` shows a patient picker or takes the
// configured default patient.
//
// Usage: node server.mjs --port 0 [--admin-secret S] [--fhir-base URL] [seed.ndjson...]  (patients for the picker)
// Prints `AUTH_SERVER_READY {"port":..,"issuer":".."}` on stdout when ready. Test controls under /_test/ (see README).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { exportJWK, generateKeyPair } from 'jose';

const args = parseArgs(process.argv.slice(2));
const port = Number(args.port ?? process.env.AUTH_PORT ?? 0);
const adminSecret = args['admin-secret'] ?? process.env.TEST_ADMIN_SECRET ?? randomBytes(24).toString('hex');

// Runtime configuration; the test changes it through POST /_test/config.
const config = {
  fhirBase: trimSlash(args['fhir-base'] ?? process.env.AUTH_FHIR_BASE ?? ''),
  accessTokenTtlSeconds: Number(process.env.AUTH_ACCESS_TOKEN_TTL ?? 300),
  defaultPatient: process.env.AUTH_DEFAULT_PATIENT ?? null, // standalone launch: skip the picker
  v1Only: false, // grant only SMART v1 scopes (patient/*.read ...)
  user: 'dr-test',
};

// Patients offered by the standalone picker: every Patient in the seed files.
const patients = [];
for (const file of args._) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line);
    if (r.resourceType === 'Patient') patients.push({ id: r.id, name: displayName(r), birthDate: r.birthDate ?? '' });
  }
}

const launches = new Map(); // launch id -> { patient, appContext, needPatientBanner, accessTokenTtlSeconds, encounter }
const grantContexts = new Map(); // grant id -> the context granted with it (patient, appContext...)
const pendingPicks = new Map(); // interaction uid -> picked patient

const RESOURCE_TYPES = ['Patient', 'Observation', 'MedicationRequest', 'MedicationStatement', 'Medication', 'MedicationAdministration',
  'Condition', 'Encounter', 'Practitioner', 'AllergyIntolerance'];
function resourceScopes() {
  const out = [];
  for (const level of ['patient', 'user']) {
    out.push(`${level}/*.read`);
    if (!config.v1Only) out.push(`${level}/*.rs`, `${level}/*.r`, `${level}/*.s`);
    for (const t of RESOURCE_TYPES) {
      out.push(`${level}/${t}.read`);
      if (!config.v1Only) out.push(`${level}/${t}.rs`, `${level}/${t}.r`, `${level}/${t}.s`);
    }
  }
  return out;
}
const OIDC_SCOPES = ['openid', 'fhirUser', 'profile', 'offline_access', 'online_access', 'launch', 'launch/patient'];

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingJwk = { ...(await exportJWK(privateKey)), kid: `test-${randomUUID().slice(0, 8)}`, use: 'sig', alg: 'RS256' };

const adapterStore = new Map();
class MemoryAdapter {
  constructor(name) { this.name = name; }
  key(id) { return `${this.name}:${id}`; }
  async upsert(id, payload, expiresIn) {
    adapterStore.set(this.key(id), { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
    if (payload.grantId) {
      const gk = `grant:${payload.grantId}`;
      adapterStore.set(gk, [...new Set([...(adapterStore.get(gk) ?? []), this.key(id)])]);
    }
    if (payload.userCode) adapterStore.set(`userCode:${payload.userCode}`, id);
    if (payload.uid) adapterStore.set(`uid:${payload.uid}`, id);
  }
  async find(id) {
    const e = adapterStore.get(this.key(id));
    if (!e) return undefined;
    if (e.expires && e.expires < Date.now()) { adapterStore.delete(this.key(id)); return undefined; }
    return e.payload;
  }
  async findByUserCode(code) { const id = adapterStore.get(`userCode:${code}`); return id ? this.find(id) : undefined; }
  async findByUid(uid) { const id = adapterStore.get(`uid:${uid}`); return id ? this.find(id) : undefined; }
  async consume(id) { const e = adapterStore.get(this.key(id)); if (e) e.payload.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { adapterStore.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const k of adapterStore.get(`grant:${grantId}`) ?? []) adapterStore.delete(k);
    adapterStore.delete(`grant:${grantId}`);
  }
}

// Clients live in the adapter, so the test can register its own (its redirect URI, its JWKS) at run time.
const clientAdapter = new MemoryAdapter('Client');
const registeredScopes = new Map(); // client id -> every scope registered for it
async function registerClient(metadata) {
  if (!metadata?.client_id) throw new Error('client_id is required');
  const m = {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...metadata,
  };
  if (m.token_endpoint_auth_method === 'private_key_jwt' && !m.token_endpoint_auth_signing_alg) {
    m.token_endpoint_auth_signing_alg = m.jwks?.keys?.[0]?.alg ?? 'ES384';
  }
  // `scope` is the registration: requests beyond it are not granted. oidc-provider keeps only its OIDC scopes in the
  // client's `scope` (and refuses requests for others outright); the SMART resource scopes are kept here.
  const all = String(m.scope ?? '').split(' ').filter(Boolean);
  registeredScopes.set(m.client_id, new Set(all));
  m.scope = all.filter((x) => OIDC_SCOPES.includes(x)).join(' ') || undefined;
  if (m.scope === undefined) delete m.scope;
  await clientAdapter.upsert(m.client_id, m);
  return m;
}

const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const actualPort = server.address().port;
const issuer = `http://127.0.0.1:${actualPort}`;

const provider = new Provider(issuer, {
  adapter: (name) => (name === 'Client' ? clientAdapter : new MemoryAdapter(name)),
  jwks: { keys: [signingJwk] },
  scopes: OIDC_SCOPES,
  claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name', 'family_name', 'given_name'] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, fhirUser: `${config.fhirBase}/Practitioner/${id}`, name: 'Dr Test Prescriber', family_name: 'Prescriber', given_name: 'Test' }),
  }),
  pkce: { required: () => true }, // S256 only (oidc-provider's only method): a wrong verifier is invalid_grant
  clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
  enabledJWA: {
    clientAuthSigningAlgValues: ['RS256', 'RS384', 'ES256', 'ES384', 'PS256', 'PS384'],
    idTokenSigningAlgValues: ['RS256'],
  },
  extraParams: {
    aud(ctx, value) {
      if (ctx.oidc.route !== 'authorization') return;
      // SMART App Launch: the EHR must refuse an authorize request whose aud is not its FHIR base (token phishing).
      if (!value) throw new errors.InvalidRequest('aud is required (the FHIR base URL)');
      if (trimSlash(value) !== config.fhirBase) throw new errors.InvalidRequest(`aud ${value} is not this EHR's FHIR server`);
    },
    launch(ctx, value) {
      if (ctx.oidc.route !== 'authorization') return;
      const scopes = String(ctx.oidc.params.scope ?? '').split(' ');
      if (value && !launches.has(value)) throw new errors.InvalidRequest('unknown or expired launch');
      if (scopes.includes('launch') && !value) throw new errors.InvalidRequest('scope launch requires a launch parameter');
    },
  },
  features: {
    devInteractions: { enabled: false },
    introspection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      useGrantedResource: () => true,
      defaultResource: (ctx) => (ctx.oidc.params?.aud ? trimSlash(ctx.oidc.params.aud) : config.fhirBase),
      getResourceServerInfo: (ctx, indicator, client) => {
        if (trimSlash(indicator) !== config.fhirBase) throw new errors.InvalidTarget('unknown resource server');
        const grantId = ctx.oidc.entities?.Grant?.jti;
        const ttl = grantContexts.get(grantId)?.accessTokenTtlSeconds ?? config.accessTokenTtlSeconds;
        const registered = registeredScopes.get(client?.clientId) ?? new Set();
        const scope = resourceScopes().filter((x) => registered.has(x)).join(' ');
        return { scope, audience: config.fhirBase, accessTokenTTL: ttl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  // Refresh tokens for offline_access and, as SMART asks, for online_access too.
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token')
    && (code.scopes.has('offline_access') || code.scopes.has('online_access')),
  extraTokenClaims: async (_ctx, token) => {
    const c = grantContexts.get(token.grantId);
    return c?.patient ? { patient: c.patient, fhirUser: `${config.fhirBase}/Practitioner/${config.user}` } : { fhirUser: `${config.fhirBase}/Practitioner/${config.user}` };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: (ctx) => grantContexts.get(ctx?.oidc?.entities?.Grant?.jti)?.accessTokenTtlSeconds ?? config.accessTokenTtlSeconds,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 3600,
    IdToken: 600,
  },
  cookies: { keys: [randomBytes(16).toString('hex')] },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization error</title></head><body><main><h1>Authorization error</h1><p id="error">${esc(out.error)}</p><p id="error_description">${esc(out.error_description ?? '')}</p></main></body></html>`;
  },
});
provider.proxy = false;

// SMART's token response members beside the OAuth ones: patient, need_patient_banner, appContext, encounter.
provider.use(async (ctx, next) => {
  // Only registered scopes are granted: the authorize request's scope is cut to the client's registration before
  // oidc-provider sees it (so an unregistered or unknown scope is silently not granted, as EHRs do, not an error).
  if (ctx.path === '/auth' && ctx.method === 'GET' && typeof ctx.query.scope === 'string' && typeof ctx.query.client_id === 'string') {
    const registered = registeredScopes.get(ctx.query.client_id);
    if (registered) {
      const q = new URLSearchParams(ctx.querystring);
      q.set('scope', ctx.query.scope.split(' ').filter((x) => registered.has(x)).join(' '));
      ctx.querystring = q.toString();
    }
  }
  // oidc-provider drops offline_access unless prompt=consent (an OpenID Connect rule); SMART apps do not send prompt,
  // and consent here is automatic anyway, so ask for the consent prompt on their behalf.
  if (ctx.path === '/auth' && ctx.method === 'GET' && ctx.query.scope?.split(' ').includes('offline_access') && !ctx.query.prompt) {
    ctx.querystring = `${ctx.querystring}&prompt=consent`;
  }
  await next();
  if (ctx.oidc?.route === 'token' && ctx.status === 200 && ctx.body?.access_token) {
    const c = grantContexts.get(ctx.oidc.entities?.Grant?.jti);
    const grant = ctx.oidc.entities?.Grant;
    // The token response's scope lists everything granted (launch, openid, fhirUser, offline_access too), as SMART apps
    // read it to learn what they got; oidc-provider reports only the access token's resource scopes.
    if (grant) {
      const oidc = String(grant.getOIDCScope() ?? '').split(' ').filter(Boolean);
      ctx.body.scope = [...new Set([...oidc, ...String(ctx.body.scope ?? '').split(' ').filter(Boolean)])].join(' ');
    }
    if (c) {
      if (c.patient) ctx.body.patient = c.patient;
      if (c.encounter) ctx.body.encounter = c.encounter;
      ctx.body.need_patient_banner = c.needPatientBanner;
      if (c.appContext !== undefined && c.appContext !== null) ctx.body.appContext = c.appContext;
    }
  }
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`auth-server error: ${err.stack ?? err}\n`));

const oidcCallback = provider.callback();
server.on('request', (req, res) => {
  route(req, res).catch((e) => {
    process.stderr.write(`auth-server error: ${e.stack ?? e}\n`);
    if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(e.message ?? e) });
  });
});

// Default registrations (redirect URIs supplied by the test, or none until it registers its own).
const defaultRedirects = (process.env.AUTH_REDIRECT_URIS ?? '').split(' ').filter(Boolean);
await registerClient({ client_id: 'ketamine-smart-public', token_endpoint_auth_method: 'none', redirect_uris: defaultRedirects.length ? defaultRedirects : ['http://127.0.0.1/callback'], scope: defaultScopeRegistration() });
await registerClient({ client_id: 'ketamine-smart-confidential', client_secret: 'test-secret-change-me', token_endpoint_auth_method: 'client_secret_basic', redirect_uris: defaultRedirects.length ? defaultRedirects : ['http://127.0.0.1/callback'], scope: defaultScopeRegistration() });

process.stdout.write(`AUTH_SERVER_READY ${JSON.stringify({ port: actualPort, issuer, patients: patients.length })}\n`);
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); process.exit(0); });
// --exit-with-stdin: the test host holds our stdin open; when it dies (even killed), stdin closes and so do we, so no
// server outlives its test run.
if (args['exit-with-stdin']) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

function defaultScopeRegistration() {
  return [...OIDC_SCOPES, 'patient/*.read', 'patient/*.rs', 'patient/Patient.rs', 'patient/Observation.rs', 'patient/MedicationRequest.rs',
    'patient/MedicationStatement.rs', 'patient/Medication.rs', 'patient/Patient.read', 'patient/Observation.read',
    'patient/MedicationRequest.read', 'patient/MedicationStatement.read', 'patient/Medication.read'].join(' ');
}

async function route(req, res) {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/_test/')) return testControl(req, res, url);
  const m = /^\/interaction\/([^/]+)(\/pick)?$/.exec(url.pathname);
  if (m) return interaction(req, res, m[1], Boolean(m[2]), url);
  return oidcCallback(req, res);
}

async function testControl(req, res, url) {
  const a = Buffer.from(String(req.headers['x-test-admin-secret'] ?? ''));
  const b = Buffer.from(adminSecret);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return sendJson(res, 403, { error: 'bad admin secret' });
  const body = req.method === 'POST' ? JSON.parse((await readBody(req)) || '{}') : {};
  switch (`${req.method} ${url.pathname}`) {
    case 'POST /_test/config':
      for (const k of ['accessTokenTtlSeconds', 'defaultPatient', 'v1Only']) if (k in body) config[k] = body[k];
      if ('fhirBase' in body) config.fhirBase = trimSlash(body.fhirBase);
      return sendJson(res, 200, config);
    case 'POST /_test/launch': {
      // An EHR launch: the EHR's session knows the patient (or, on purpose, none) before the app asks.
      const id = body.launch ?? randomUUID();
      launches.set(id, {
        patient: body.patient ?? null,
        encounter: body.encounter ?? null,
        appContext: body.appContext ?? null,
        needPatientBanner: body.needPatientBanner ?? true,
        accessTokenTtlSeconds: body.accessTokenTtlSeconds ?? null,
      });
      return sendJson(res, 200, { launch: id });
    }
    case 'POST /_test/clients':
      try {
        return sendJson(res, 200, await registerClient(body));
      } catch (e) {
        return sendJson(res, 400, { error: e.message });
      }
    case 'GET /_test/health':
      return sendJson(res, 200, { ok: true, config, patients: patients.length, launches: launches.size });
    default:
      return sendJson(res, 404, { error: 'unknown test control' });
  }
}

async function interaction(req, res, uid, isPick, url) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params } = details;
  if (details.uid !== uid) return sendHtml(res, 400, page('Interaction mismatch', '<p>This sign-in page is stale; start again.</p>'));

  if (prompt.name === 'login') {
    // Auto-login: the EHR user is already signed in.
    return provider.interactionFinished(req, res, { login: { accountId: config.user } }, { mergeWithLastSubmission: false });
  }
  if (prompt.name !== 'consent') return sendHtml(res, 400, page('Unsupported', `<p>Prompt ${esc(prompt.name)} is not supported.</p>`));

  const client = await provider.Client.find(params.client_id);
  const requested = String(params.scope ?? '').split(' ').filter(Boolean);
  const registered = registeredScopes.get(client?.clientId) ?? new Set();

  // Context: EHR launch binds the registered launch; standalone launch/patient picks a patient.
  let context = { patient: null, encounter: null, appContext: null, needPatientBanner: true, accessTokenTtlSeconds: null };
  if (params.launch) {
    const l = launches.get(params.launch);
    if (!l) return sendHtml(res, 400, page('Launch expired', '<p>The launch is unknown or expired.</p>'));
    context = { ...l };
  } else if (requested.includes('launch/patient')) {
    let picked = pendingPicks.get(uid);
    if (isPick && req.method === 'POST') {
      const form = new URLSearchParams(await readBody(req));
      picked = form.get('patient');
      if (!patients.some((p) => p.id === picked)) picked = undefined;
    }
    picked ??= config.defaultPatient ?? undefined;
    if (!picked) return sendHtml(res, 200, pickerPage(uid));
    context = { ...context, patient: picked, needPatientBanner: true };
  }

  // Grant only what is both requested and registered for the client (and known to this server).
  const grant = details.grantId ? await provider.Grant.find(details.grantId) : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
  const oidcMissing = details.prompt.details.missingOIDCScope ?? [];
  const allowedOidc = oidcMissing.filter((s) => registered.has(s));
  if (allowedOidc.length) grant.addOIDCScope(allowedOidc.join(' '));
  if (details.prompt.details.missingOIDCClaims?.length) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
  const known = new Set(resourceScopes());
  for (const [indicator, scopes] of Object.entries(details.prompt.details.missingResourceScopes ?? {})) {
    const allowed = scopes.filter((s) => registered.has(s) && known.has(s));
    grant.addResourceScope(indicator, allowed.join(' '));
  }
  const grantId = await grant.save();
  grantContexts.set(grantId, context);
  pendingPicks.delete(uid);
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function pickerPage(uid) {
  const items = patients.map((p) => `<li><button type="submit" name="patient" value="${esc(p.id)}" data-patient-id="${esc(p.id)}">${esc(p.name)} (born ${esc(p.birthDate)})</button></li>`).join('');
  return page('Select a patient', `<p>Choose the patient whose record the app may open.</p><form method="post" action="/interaction/${esc(uid)}/pick"><ul>${items}</ul></form>`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

function displayName(p) {
  const n = p.name?.[0];
  if (!n) return p.id;
  return [...(n.given ?? []), n.family].filter(Boolean).join(' ') || n.text || p.id;
}
function trimSlash(s) { return String(s ?? '').replace(/\/+$/, ''); }
function esc(s) { return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }
function sendJson(res, status, obj) { res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }); res.end(JSON.stringify(obj)); }
function sendHtml(res, status, html) { res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }); res.end(html); }
function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
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
