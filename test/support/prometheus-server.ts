/**
 * A private Prometheus (Debian's `prometheus` package) for one test file: scrapes the given
 * targets every `scrapeIntervalMs`, stores in a temp dir, listens on a free port, and answers
 * PromQL through its HTTP API (/api/v1/query). A missing binary fails loudly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './ports.js'
import { httpReady, serviceBinary, startService } from './services.js'

export interface PrometheusServer {
  readonly url: string
  /** An instant query; the result vector as `{ metric, value }` (value as a number). */
  query(promql: string): Promise<{ metric: Record<string, string>; value: number }[]>
  /** Until every target's latest scrape began after `since` (epoch ms) and succeeded. */
  waitForScrapeAfter(since: number, timeoutMs?: number): Promise<void>
  output(): string
  close(): Promise<void>
}

export function prometheusBinary(): string {
  return serviceBinary('prometheus', 'PROMETHEUS_BIN')
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export async function startPrometheus(opts: { targets: readonly string[]; metricsPath?: string; scrapeIntervalMs?: number }): Promise<PrometheusServer> {
  const bin = prometheusBinary()
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-prometheus-'))
  const port = await freePort()
  const interval = `${opts.scrapeIntervalMs ?? 500}ms`
  writeFileSync(join(dir, 'prometheus.yml'), [
    'global:',
    `  scrape_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    'scrape_configs:',
    '  - job_name: switchyard',
    `    metrics_path: ${opts.metricsPath ?? '/metrics'}`,
    `    static_configs: [{ targets: [${opts.targets.map((t) => JSON.stringify(t)).join(', ')}] }]`,
    '',
  ].join('\n'))
  const url = `http://127.0.0.1:${port}`
  const server = await startService({
    name: 'prometheus', bin,
    args: [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn',
    ],
    ready: () => httpReady(`${url}/-/ready`),
    readyWhat: 'become ready',
    pollMs: 100,
  })
  const api = async (path: string) => {
    const r = await fetch(`${url}${path}`)
    const body = (await r.json()) as { status: string; data: any; error?: string }
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.error}`)
    return body.data
  }
  return {
    url,
    output: server.output,
    async query(promql) {
      const data = await api(`/api/v1/query?query=${encodeURIComponent(promql)}`)
      return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
    },
    async waitForScrapeAfter(since, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs
      for (;;) {
        const data = await api('/api/v1/targets')
        const targets = data.activeTargets as { health: string; lastScrape: string; lastError: string }[]
        if (targets.length > 0 && targets.every((t) => t.health === 'up' && Date.parse(t.lastScrape) > since)) return
        if (Date.now() > end) throw new Error(`no successful scrape after ${new Date(since).toISOString()}: ${JSON.stringify(targets)}`)
        await sleep(100)
      }
    },
    async close() {
      await server.stop('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
