// An independent tus 1.0 server for the core's upload client: npm `@tus/server` with
// `@tus/file-store`, over HTTPS with a test CA, at /files/.
//
// Environment: PALMKIT_PEERS_DIR (where the packages are installed), TLS_CERT, TLS_KEY
// (PEM files), STORE_DIR (where uploads are written). Prints "listening PORT" once ready;
// stops on SIGTERM or when stdin closes.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const modules = join(env('PALMKIT_PEERS_DIR'), 'tus', 'node_modules', '@tus');
const load = (pkg) => import(pathToFileURL(join(modules, pkg, 'dist', 'index.js')).href);
const { Server } = await load('server');
const { FileStore } = await load('file-store');

// relativeLocation: behind TLS it would otherwise build `http://` upload URLs (it does not
// see the TLS layer), which the client rightly refuses as another origin.
const tus = new Server({
  path: '/files',
  relativeLocation: true,
  datastore: new FileStore({ directory: env('STORE_DIR') }),
});
const server = createServer(
  { cert: readFileSync(env('TLS_CERT')), key: readFileSync(env('TLS_KEY')) },
  (req, res) => tus.handle(req, res),
);
server.listen(0, '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
