// A real OpenID Provider (panva/oidc-provider) for llmauth's end-to-end tests.
//
// It listens on https://127.0.0.1:<port> only and is driven headlessly: the interaction
// page logs in the fixed user `e2e-user` and grants everything the request asked for on a
// plain GET, and the device-flow pages are self-submitting forms, so a scripted browser
// that follows redirects, keeps cookies and posts the first form it sees gets all the way
// to the loopback callback. When it is listening it prints exactly one JSON line on
// stdout ({"issuer": ..., "ready": true}); it exits when stdin closes (its parent died or
// dropped the pipe) and on SIGTERM/SIGINT. It never logs tokens, codes or query strings.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

const USAGE = `usage: node server.mjs --cert FILE --key FILE [options]
  --cert FILE               PEM certificate chain for 127.0.0.1 (required)
  --key FILE                PEM private key (required)
  --port N                  port on 127.0.0.1, 0 = any free port (default 0)
  --client-id ID            the public native client (default llmauth-e2e)
  --audience URI            resource indicator of the gateway; JWT access tokens carry it
                            as aud (default https://gateway.llmauth.test)
  --resource-scope S        space-separated scopes the gateway resource accepts
                            (default llm:invoke)
  --access-token-ttl SECS   access-token lifetime (default 300)
  --refresh-token-ttl SECS  refresh-token lifetime (default 14 days)
  --redirect-port N         also register http://localhost:N/callback and
                            http://127.0.0.1:N/callback (repeatable; loopback URIs of a
                            native client match on any port anyway)
  --device-interval SECS    add "interval" to device-authorization responses (by default
                            it is omitted, so clients use the RFC 8628 default of 5 s)
  --refresh-delay-ms MS     hold back each refresh_token grant's response this long after
                            the provider processed it (a slow IdP; default 0)`;

/** Why we stop: printed on stderr so a failing test's log says what happened. */
function fail(message) {
  process.stderr.write(`oidc-provider: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function positiveInt(name, text, { allowZero = false } = {}) {
  if (!/^\d+$/u.test(text ?? '')) fail(`--${name} must be a non-negative integer`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || (!allowZero && value === 0)) {
    fail(`--${name} is out of range`);
  }
  return value;
}

function parseOptions() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        cert: { type: 'string' },
        key: { type: 'string' },
        port: { type: 'string', default: '0' },
        'client-id': { type: 'string', default: 'llmauth-e2e' },
        audience: { type: 'string', default: 'https://gateway.llmauth.test' },
        'resource-scope': { type: 'string', default: 'llm:invoke' },
        'access-token-ttl': { type: 'string', default: '300' },
        'refresh-token-ttl': { type: 'string', default: String(14 * 24 * 60 * 60) },
        'redirect-port': { type: 'string', multiple: true, default: [] },
        'device-interval': { type: 'string' },
        'refresh-delay-ms': { type: 'string', default: '0' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    fail(err.message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (!values.cert || !values.key) fail('--cert and --key are required');
  const port = positiveInt('port', values.port, { allowZero: true });
  if (port > 65535) fail('--port is out of range');
  const redirectPorts = values['redirect-port'].map((p) => {
    const n = positiveInt('redirect-port', p);
    if (n > 65535) fail('--redirect-port is out of range');
    return n;
  });
  if (!URL.canParse(values.audience)) fail('--audience must be an absolute URI');
  return {
    cert: values.cert,
    key: values.key,
    port,
    clientId: values['client-id'],
    audience: values.audience,
    resourceScope: values['resource-scope'],
    accessTokenTtl: positiveInt('access-token-ttl', values['access-token-ttl']),
    refreshTokenTtl: positiveInt('refresh-token-ttl', values['refresh-token-ttl']),
    redirectPorts,
    refreshDelayMs: positiveInt('refresh-delay-ms', values['refresh-delay-ms'], { allowZero: true }),
    deviceInterval: values['device-interval'] === undefined
      ? undefined
      : positiveInt('device-interval', values['device-interval']),
  };
}

const ACCOUNT_ID = 'e2e-user';

/** The one account: enough claims for `openid email profile` to mean something. */
function findAccount(_ctx, sub) {
  if (sub !== ACCOUNT_ID) return undefined;
  return {
    accountId: ACCOUNT_ID,
    async claims() {
      return {
        sub: ACCOUNT_ID,
        email: 'e2e-user@llmauth.test',
        email_verified: true,
        name: 'E2E User',
        preferred_username: ACCOUNT_ID,
      };
    },
  };
}

/** A fresh RSA signing key per run: tokens of an old run must not verify in a new one. */
function signingJwks() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' }] };
}

function page(title, body) {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1>${body}</body></html>`;
}

/**
 * The device-flow confirmation page: only the provider's hidden-input form (xsrf,
 * user_code, confirm=yes) plus a script that submits it, so the first form on the page is
 * the approving one. The abort button of the stock page is left out on purpose.
 */
async function userCodeConfirmSource(ctx, form) {
  ctx.type = 'html';
  ctx.body = page(
    'Confirm device',
    `${form}
<script>document.forms[0].submit()</script>
<noscript><button type="submit" form="op.deviceConfirmForm">Continue</button></noscript>`,
  );
}

async function userCodeInputSource(ctx, form, _out, err) {
  ctx.type = 'html';
  const msg = err ? `<p>Error: ${err.name === 'NoCodeError' || err.userCode ? 'wrong code' : 'failed'}</p>` : '';
  ctx.body = page(
    'Enter the code shown on your device',
    `${msg}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

async function successSource(ctx) {
  ctx.type = 'html';
  ctx.body = page('Device sign-in complete', '<p>You can close this page.</p>');
}

async function renderError(ctx, out) {
  ctx.type = 'html';
  const safe = (s) => String(s ?? '').replace(/[&<>"']/gu, (c) => `&#${c.charCodeAt(0)};`);
  ctx.body = page('OIDC error', `<p id="error">${safe(out.error)}</p><p id="error_description">${safe(out.error_description)}</p>`);
}

function buildProvider(issuer, opts) {
  const redirectUris = ['http://localhost/callback', 'http://127.0.0.1/callback', 'http://[::1]/callback'];
  for (const p of opts.redirectPorts) {
    redirectUris.push(`http://localhost:${p}/callback`, `http://127.0.0.1:${p}/callback`);
  }

  const configuration = {
    clients: [{
      client_id: opts.clientId,
      client_name: 'llmauth e2e',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: redirectUris,
      grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
      response_types: ['code'],
    }],
    findAccount,
    jwks: signingJwks(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    scopes: ['openid', 'offline_access'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      deviceFlow: {
        enabled: true,
        userCodeConfirmSource,
        userCodeInputSource,
        successSource,
      },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // Only the gateway is a resource server; anything else is invalid_target.
        async getResourceServerInfo(_ctx, resourceIndicator) {
          if (resourceIndicator !== opts.audience) throw new errors.InvalidTarget();
          return {
            scope: opts.resourceScope,
            audience: opts.audience,
            accessTokenTTL: opts.accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    rotateRefreshToken: true,
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? opts.accessTokenTtl,
      AuthorizationCode: 60,
      DeviceCode: 600,
      IdToken: 3600,
      Interaction: 600,
      Session: 24 * 3600,
      Grant: opts.refreshTokenTtl,
      RefreshToken: opts.refreshTokenTtl,
    },
    renderError,
  };

  const provider = new Provider(issuer, configuration);

  if (opts.deviceInterval !== undefined) {
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body) {
        ctx.body = { ...ctx.body, interval: opts.deviceInterval };
      }
    });
  }

  // One line per token-endpoint request, whatever its outcome, so tests can count how many
  // refreshes reached the provider (a replayed refresh token fails, and would otherwise
  // only show up as an error event). The grant type is the client's input: only a safe
  // character set is echoed. Never a token.
  // With --refresh-delay-ms, the answer to a refresh is held back after the refresh token
  // was rotated — a slow IdP, so that concurrent clients surely overlap with it.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token') return;
    const grantType = ctx.oidc.params?.grant_type;
    const safe = (s) => String(s ?? '').replace(/[^\w:.-]/gu, '?').slice(0, 80);
    const error = ctx.status >= 400 && ctx.body?.error ? ` error=${safe(ctx.body.error)}` : '';
    process.stderr.write(`oidc-provider: token request grant_type=${safe(grantType)} status=${ctx.status}${error}\n`);
    if (grantType === 'refresh_token' && opts.refreshDelayMs > 0) {
      await new Promise((resolve) => { setTimeout(resolve, opts.refreshDelayMs); });
    }
  });

  // Failures are logged by code and description only — never tokens or request bodies.
  for (const event of ['server_error', 'authorization.error', 'grant.error', 'revocation.error',
    'device_authorization.error', 'code_verification.error', 'end_session.error']) {
    provider.on(event, (_ctx, err) => {
      const e = err ?? _ctx;
      process.stderr.write(`oidc-provider: ${event}: ${e?.error ?? e?.name ?? 'error'}: ${e?.error_description ?? e?.message ?? ''}\n`);
    });
  }
  provider.on('grant.success', (ctx) => {
    process.stderr.write(`oidc-provider: grant.success ${ctx.oidc?.params?.grant_type ?? ''}\n`);
  });
  return provider;
}

/**
 * The headless interaction: whatever the prompt (login, consent or both), log in
 * `e2e-user` and grant every requested OIDC scope, claim and resource scope, then send
 * the browser back to the provider. Works on GET, so no form is involved; it needs the
 * `_interaction` cookie the provider set on the redirect here.
 */
async function autoApprove(provider, req, res) {
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch (err) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`interaction not found: ${err.error_description ?? err.message}\n`);
    return;
  }
  const { params, prompt, grantId } = details;
  const accountId = details.session?.accountId ?? ACCOUNT_ID;

  const grant = (grantId && await provider.Grant.find(grantId))
    || new provider.Grant({ accountId, clientId: params.client_id });

  if (params.scope) grant.addOIDCScope(params.scope);
  if (params.claims) {
    try {
      const claims = JSON.parse(params.claims);
      const names = new Set();
      for (const target of ['id_token', 'userinfo']) {
        for (const name of Object.keys(claims?.[target] ?? {})) names.add(name);
      }
      if (names.size) grant.addOIDCClaims([...names]);
    } catch {
      // The provider already validated the claims parameter; nothing to grant otherwise.
    }
  }
  const resources = params.resource === undefined ? []
    : (Array.isArray(params.resource) ? params.resource : [params.resource]);
  for (const resource of resources) {
    if (params.scope) grant.addResourceScope(resource, params.scope);
  }
  const newGrantId = await grant.save();

  const result = { consent: { grantId: newGrantId } };
  if (prompt.name === 'login' || !details.session?.accountId) {
    result.login = { accountId: ACCOUNT_ID, remember: true };
  }
  process.stderr.write(`oidc-provider: interaction ${prompt.name} (${prompt.reasons.join(',')}) auto-approved\n`);
  await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

async function main() {
  const opts = parseOptions();
  let tls;
  try {
    tls = { cert: readFileSync(opts.cert), key: readFileSync(opts.key) };
  } catch (err) {
    fail(`cannot read TLS files: ${err.message}`);
  }

  const server = createServer(tls);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const issuer = `https://127.0.0.1:${port}`;
  const provider = buildProvider(issuer, opts);
  const callback = provider.callback();

  server.on('request', (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    process.stderr.write(`oidc-provider: ${req.method} ${path}\n`);
    if (/^\/interaction\/[^/]+$/u.test(path) && (req.method === 'GET' || req.method === 'POST')) {
      autoApprove(provider, req, res).catch((err) => {
        process.stderr.write(`oidc-provider: interaction failed: ${err.message}\n`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
      return;
    }
    callback(req, res);
  });

  const stop = () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();

  process.stdout.write(`${JSON.stringify({ issuer, ready: true })}\n`);
}

main().catch((err) => fail(err.message));
