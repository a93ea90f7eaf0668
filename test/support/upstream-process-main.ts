/**
 * The child side of upstream-process.ts: an OpenAI-format upstream (openai-upstream.ts) in its own
 * process, printing its URL on the first line of stdout. Usage: node upstream-process-main.js <name>
 */
import { startOpenAIUpstream } from './openai-upstream.js'

const up = await startOpenAIUpstream(process.argv[2] ?? 'upstream')
process.stdout.write(`${up.url}\n`)
