// An independent authorization server for the core's login tests: npm `oidc-provider`
// (panva), configured for one native public client, over HTTPS with a test CA.
//
// Environment: PALMKIT_PEERS_DIR (where `oidc-provider` is installed), TLS_CERT, TLS_KEY
// (PEM files), REDIRECT_URI, CLIENT_ID, ACCESS_TTL (seconds). Prints "listening PORT" once
// ready; stops on SIGTERM or when stdin closes.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const entry = join(env('PALMKIT_PEERS_DIR'), 'oidc', 'node_modules', 'oidc-provider', 'lib', 'index.js');
const { default: Provider } = await import(pathToFileURL(entry).href);

const server = createServer({ cert: readFileSync(env('TLS_CERT')), key: readFileSync(env('TLS_KEY')) });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;
const issuer = `https://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: env('CLIENT_ID'),
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [env('REDIRECT_URI')],
  }],
  pkce: { required: () => true },
  scopes: ['openid', 'offline_access', 'enroll'],
  features: { devInteractions: { enabled: true }, revocation: { enabled: true } },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: { AccessToken: Number(process.env.ACCESS_TTL || 3600) },
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id }) }),
});
provider.proxy = false;
server.on('request', provider.callback());

console.log(`listening ${port}`);
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
