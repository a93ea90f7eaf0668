// nginx twice: as the mock upstream (fixed JSON and SSE bodies via `return`, which answers POST where static
// files would give 405) and as row (b), the reference reverse proxy. Each instance gets its own prefix dir so
// nothing touches /etc/nginx or /var/log.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startChild, waitReady, type Child } from './children.js'
import { onProxyCpu } from './pinning.js'
import { CHAT_PATH, COMPLETION_JSON, REQUEST, SSE_BODY } from './payloads.js'

function nginxString(s: string): string {
  // nginx single-quoted strings understand \n; `$` would start a variable and `'` would end the string.
  if (/[$'\\]/.test(s)) throw new Error('payload not representable in an nginx string')
  return `'${s.replace(/\n/g, '\\n')}'`
}

function preamble(dir: string): string {
  for (const d of ['logs', 'tmp']) mkdirSync(join(dir, d), { recursive: true })
  const t = join(dir, 'tmp')
  return `worker_processes 1;
error_log stderr warn;
pid ${join(dir, 'logs', 'nginx.pid')};
events { worker_connections 4096; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${t}/body;
  proxy_temp_path ${t}/proxy;
  fastcgi_temp_path ${t}/fastcgi;
  uwsgi_temp_path ${t}/uwsgi;
  scgi_temp_path ${t}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
`
}

export interface MockPorts { json: readonly number[], sse: readonly number[] }

/** Mock upstream: every lane listens on two ports so Switchyard's cluster can have two distinct endpoints. */
export function mockConf(dir: string, ports: MockPorts): string {
  const server = (lane: number[] | readonly number[], type: string, body: string) => `
  server {
${lane.map((p) => `    listen 127.0.0.1:${p} reuseport;`).join('\n')}
    location = ${CHAT_PATH} { default_type ${type}; return 200 ${nginxString(body)}; }
    location / { return 404; }
  }`
  return preamble(dir) + server(ports.json, 'application/json', COMPLETION_JSON) + server(ports.sse, 'text/event-stream', SSE_BODY) + '\n}\n'
}

export interface ProxyLane { listen: number, upstreams: readonly number[] }

/** Row (b): plain reverse proxy, upstream keepalive, no response buffering (SSE must flow through). */
export function proxyConf(dir: string, lanes: readonly ProxyLane[]): string {
  const blocks = lanes.map((l, i) => `
  upstream lane${i} {
${l.upstreams.map((p) => `    server 127.0.0.1:${p};`).join('\n')}
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${l.listen};
    location / {
      proxy_pass http://lane${i};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }`)
  return preamble(dir) + blocks.join('') + '\n}\n'
}

/** `pinned`: run on the proxy CPU (row b); the mock stays with the load generators. */
export async function startNginx(name: string, dir: string, conf: string, probePort: number, opts: { pinned?: boolean } = {}): Promise<Child> {
  const file = join(dir, 'nginx.conf')
  writeFileSync(file, conf)
  // -e: nginx opens its compiled-in error log before reading the config; point it away from /var/log.
  const args = ['-c', file, '-p', dir, '-e', 'stderr', '-g', 'daemon off;']
  const child = startChild(name, ...(opts.pinned ? onProxyCpu('nginx', args) : ['nginx', args] as [string, string[]]))
  await waitReady(child, `http://127.0.0.1:${probePort}${CHAT_PATH}`, { method: 'POST', body: REQUEST.json })
  return child
}

export function nginxVersion(): string {
  // `nginx -v` prints to stderr.
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' })
  return (r.stderr || r.stdout || 'unknown').trim().replace(/^nginx version: /, '')
}
