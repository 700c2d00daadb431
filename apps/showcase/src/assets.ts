/**
 * The page's own script and style and the browser libraries it uses (intl-tel-input with its
 * flags and validation utils, SweetAlert2), served from this app out of node_modules: no CDN,
 * so the page's CSP can be 'self' only. A fixed list of files, read once at start.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const require = createRequire(import.meta.url);
const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));
const publicDir = fileURLToPath(new URL('../public/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.webp': 'image/webp',
};

/** URL path → file. intl-tel-input's CSS finds its flags at ../img/, so its layout is kept. */
function assetFiles(): Record<string, string> {
  const iti = join(packageDir('intl-tel-input'), 'dist');
  const swal = join(packageDir('sweetalert2'), 'dist');
  return {
    '/assets/showcase.js': join(publicDir, 'showcase.js'),
    '/assets/rest-return.js': join(publicDir, 'rest-return.js'),
    '/assets/showcase.css': join(publicDir, 'showcase.css'),
    '/vendor/intl-tel-input/js/intlTelInputWithUtils.min.js': join(iti, 'js/intlTelInputWithUtils.min.js'),
    '/vendor/intl-tel-input/css/intlTelInput.min.css': join(iti, 'css/intlTelInput.min.css'),
    '/vendor/intl-tel-input/img/flags.webp': join(iti, 'img/flags.webp'),
    '/vendor/intl-tel-input/img/flags@2x.webp': join(iti, 'img/flags@2x.webp'),
    '/vendor/sweetalert2/sweetalert2.min.js': join(swal, 'sweetalert2.min.js'),
    '/vendor/sweetalert2/sweetalert2.min.css': join(swal, 'sweetalert2.min.css'),
  };
}

export function registerAssets(app: FastifyInstance): void {
  for (const [path, file] of Object.entries(assetFiles())) {
    const body = readFileSync(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const type = TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream';
    app.get(path, async (req, reply) => {
      reply.header('etag', etag).header('cache-control', 'no-cache').type(type);
      if (req.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.send(body);
    });
  }
}
