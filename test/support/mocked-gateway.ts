/**
 * One real gateway process in front of provider mocks (test/support/mocks/), for the suites that
 * let the official SDKs judge the gateway's translated wire format end to end. Each upstream gets
 * a cluster and a route rule of its own, both named after it; a request reaches it by carrying
 * the header `x-mock: <name>` (the SDKs send it as a default header).
 *
 * @example
 * const mock = await startAnthropicMock()
 * const gw = await startMockedGateway({ claude: { provider: 'anthropic', url: mock.url } })
 * after(() => gw.close())
 * const client = new OpenAI({ apiKey: 'caller', baseURL: `${gw.url}/v1`, defaultHeaders: gw.headers('claude') })
 */
import assert from 'node:assert/strict'
import type { UpstreamProtocol } from '../../src/protocols.js'
import { eventually, startGateway } from './gateway-process.js'
import { freePort } from './ports.js'

export interface MockedUpstream {
  readonly provider: UpstreamProtocol
  /** The mock's origin, `http://127.0.0.1:<port>`. */
  readonly url: string
}

export interface MockedGateway {
  /** The listener's origin. */
  readonly url: string
  /** The headers that send a request to upstream `name`. */
  headers(name: string): Record<string, string>
  /** What the gateway logged as dropped in translation on the way to `name`, one list per request that dropped any. */
  dropped(name: string): Promise<string[][]>
  /** Stops the gateway; it must exit cleanly. */
  close(): Promise<void>
}

/** The credential the mocks accept by default (MockOptions.apiKey). */
const MOCK_KEY = 'test-key'

/** Any secret will do: the Bedrock mock checks the access key id, not the signature. */
const MOCK_AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'

/** A cluster's endpoint and credentials: OpenAI and Anthropic with their /v1 base, Bedrock SigV4-signed as for the mock's access key. */
function credentials(u: MockedUpstream): string {
  if (u.provider === 'bedrock') return `endpoints: [{ url: "${u.url}" }], bedrock: { region: us-east-1, access_key_id: AKIDEXAMPLE, secret_access_key: "\${env:MOCK_AWS_SECRET}" }`
  const url = u.provider === 'gemini' ? u.url : `${u.url}/v1`
  return `endpoints: [{ url: "${url}", api_key: "\${env:MOCK_KEY}" }]`
}

export async function startMockedGateway(upstreams: Record<string, MockedUpstream>): Promise<MockedGateway> {
  const names = Object.keys(upstreams)
  const port = await freePort()
  const gw = await startGateway((admin) => `
admin: { port: ${admin} }
listeners: [{ name: api, address: 127.0.0.1, port: ${port}, route_table: main }]
routes:
  - name: main
    rules:
${names.map((n) => `      - { name: ${n}, match: { headers: [{ name: x-mock, exact: ${n} }] }, cluster: ${n} }`).join('\n')}
clusters:
${names.map((n) => `  - { name: ${n}, provider: ${upstreams[n]!.provider}, ${credentials(upstreams[n]!)} }`).join('\n')}
`, { env: { MOCK_KEY, MOCK_AWS_SECRET } })
  return {
    url: `http://127.0.0.1:${port}`,
    headers: (name) => ({ 'x-mock': name }),
    async dropped(name) {
      // The gateway logs before it sends the request upstream, but its stderr reaches us on its own schedule.
      const lines = () => gw.output().split('\n').filter((l) => l.includes('parameters dropped in translation') && l.includes(` route=${name} `))
      await eventually(() => lines().length > 0, 3000, `a dropped-parameters log line for ${name}`).catch(() => {})
      return lines().map((l) => /\bdropped=(\S+)/.exec(l)![1]!.split(','))
    },
    async close() {
      const code = await gw.stop()
      assert.equal(code, 0, gw.output())
    },
  }
}
