/**
 * An OpenAI-format upstream in a child process, for tests where the upstream must die the way a
 * real replica does: SIGKILL, its sockets reset by the kernel, nothing said goodbye.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export interface UpstreamProcess {
  readonly url: string
  readonly child: ChildProcess
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>
}

const MAIN = fileURLToPath(new URL('./upstream-process-main.js', import.meta.url))

export async function spawnUpstream(name: string): Promise<UpstreamProcess> {
  const child = spawn(process.execPath, [MAIN, name], { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<void>((r) => child.once('exit', () => r()))
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.setEncoding('utf8')
    child.stdout!.on('data', (d: string) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0) resolve(out.slice(0, nl))
    })
    child.once('exit', (code) => reject(new Error(`upstream ${name} exited (${code}) before it listened`)))
  })
  return {
    url,
    child,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
  }
}
