import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { encodeChat } from 'gpt-tokenizer'
import { estimateAsk, estimateInputTokens, IMAGE_TOKENS, outputCeiling } from '../../../src/runtime/limits/token-estimate.js'
import { repoRoot } from '../../support/repo-root.js'

type Msg = { role: 'system' | 'user' | 'assistant'; content: string }

/** Real text of several kinds: this repository's prose and code, and short CJK / Cyrillic passages. */
const SOURCES: Record<string, string> = {
  'english prose': readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8') + readFileSync(join(repoRoot, 'README.md'), 'utf8'),
  'typescript code': readFileSync(join(repoRoot, 'src', 'runtime', 'limits', 'local-limiter.ts'), 'utf8') + readFileSync(join(repoRoot, 'src', 'runtime', 'providers', 'usage-tap.ts'), 'utf8'),
  chinese: '网关把每个请求先交给身份验证，再按租户的限额检查请求数和令牌数。超过限额的请求在到达模型提供商之前就被拒绝，并带上重试时间。预算按天和按月累计，花完之后返回额度不足的错误。'.repeat(40),
  russian: 'Шлюз проверяет каждый запрос: сначала ключ и арендатора, затем ограничения на число запросов и токенов. Запрос сверх лимита отклоняется до того, как он попадёт к провайдеру. '.repeat(40),
}

/** A chat body of about `bytes` bytes: a system prompt and alternating turns cut from `text`. */
function chatOf(text: string, bytes: number): { body: Buffer; messages: Msg[] } {
  const messages: Msg[] = [{ role: 'system', content: 'You are a helpful assistant.' }]
  let at = 0
  let size = 100
  while (size < bytes) {
    const take = Math.min(600, bytes - size)
    let chunk = ''
    while (Buffer.byteLength(chunk) < take) {
      chunk += text.slice(at % text.length, (at % text.length) + 50)
      at += 50
    }
    messages.push({ role: messages.length % 2 ? 'user' : 'assistant', content: chunk })
    size += Buffer.byteLength(JSON.stringify(messages.at(-1)))
  }
  return { body: Buffer.from(JSON.stringify({ model: 'gpt-4o', messages, max_tokens: 256 })), messages }
}

const real = (messages: Msg[]) => encodeChat(messages, 'gpt-4o').length

test('the estimate is within -10% / +50% of gpt-4o\'s tokenizer on prose, code, Chinese and Russian bodies of 1 KB and 32 KB', (t) => {
  const rows: string[] = []
  for (const [kind, text] of Object.entries(SOURCES)) {
    for (const kb of [1, 32]) {
      const { body, messages } = chatOf(text, kb * 1024)
      const est = estimateInputTokens(body)
      const exact = real(messages)
      const ratio = est / exact
      rows.push(`${kind} ${kb} KB: estimate ${est}, tokenizer ${exact}, ratio ${ratio.toFixed(2)}`)
      assert.ok(ratio >= 0.9 && ratio <= 1.5, rows.at(-1))
    }
  }
  for (const r of rows) t.diagnostic(r)
})

test('one estimate costs microseconds: 1 KB and 32 KB bodies, against the tokenizer', (t) => {
  const rows: string[] = []
  for (const kb of [1, 32]) {
    const { body, messages } = chatOf(SOURCES['english prose'], kb * 1024)
    const n = kb === 1 ? 20_000 : 1000
    for (let i = 0; i < n / 10; i++) estimateInputTokens(body) // warm up
    let t0 = performance.now()
    let sink = 0
    for (let i = 0; i < n; i++) sink += estimateInputTokens(body)
    const us = ((performance.now() - t0) * 1000) / n
    t0 = performance.now()
    const m = kb === 1 ? 200 : 20
    for (let i = 0; i < m; i++) sink += real(messages)
    const tokUs = ((performance.now() - t0) * 1000) / m
    rows.push(`${kb} KB: estimate ${us.toFixed(2)} µs, gpt-tokenizer encodeChat ${tokUs.toFixed(0)} µs (${(tokUs / us).toFixed(0)}×)`)
    assert.ok(sink > 0)
    // Loose bounds (a busy CI machine): the point is microseconds, not milliseconds.
    assert.ok(us < (kb === 1 ? 20 : 400), rows.at(-1))
  }
  for (const r of rows) t.diagnostic(r)
})

test('inline base64 data counts as a flat image cost, not by its length', () => {
  const image = 'A'.repeat(200_000)
  const body = Buffer.from(JSON.stringify({ messages: [{ role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } }] }] }))
  const est = estimateInputTokens(body)
  assert.ok(est >= IMAGE_TOKENS && est < IMAGE_TOKENS + 60, `estimate ${est}`)
  const two = Buffer.from(JSON.stringify({ a: `data:image/png;base64,${image}`, b: `data:application/pdf;base64,${image}` }))
  assert.ok(estimateInputTokens(two) >= 2 * IMAGE_TOKENS && estimateInputTokens(two) < 2 * IMAGE_TOKENS + 30)
})

test('the output ceiling is read in all three spellings, else the default', () => {
  assert.deepStrictEqual([
    outputCeiling({ max_tokens: 100 }, 4096),
    outputCeiling({ max_completion_tokens: 200, max_tokens: 100 }, 4096),
    outputCeiling({ max_output_tokens: 300 }, 4096),
    outputCeiling({ max_tokens: 'lots' }, 4096),
    outputCeiling(undefined, 4096),
    outputCeiling({ max_tokens: -1 }, 4096),
  ], [100, 200, 300, 4096, 4096, 4096])
  const raw = Buffer.from('{"messages":[{"role":"user","content":"hi"}],"max_tokens":7}')
  assert.deepStrictEqual(estimateAsk(raw, JSON.parse(raw.toString()), 1000), { inputTokens: estimateInputTokens(raw), outputTokens: 7 })
})
