// A test reporter that writes nothing while tests run and, at the end, one block per failed test:
// its file, its name path and the first lines of its error. run-tests.js prints that block after the
// TAP output, so a CI log that keeps only its tail still says which test failed and why.
const MAX_ERROR_LINES = 12

export default async function* failuresReporter(source) {
  const failures = []
  const namesByFile = new Map() // file → the name path of the test last started there, by nesting level
  for await (const event of source) {
    if (event.type !== 'test:start' && event.type !== 'test:fail') continue
    const { name, nesting, file, details } = event.data
    let names = namesByFile.get(file)
    if (!names) namesByFile.set(file, (names = []))
    if (event.type === 'test:start') {
      names.length = nesting
      names[nesting] = name
      continue
    }
    names[nesting] = name
    const error = details?.error
    // A suite fails when a test in it fails; that test is already listed.
    if (error?.failureType === 'subtestsFailed') continue
    failures.push({ file, path: names.slice(0, nesting + 1).join(' > '), error: describe(error) })
  }
  if (failures.length === 0) return
  yield `\n${failures.length} failed test${failures.length === 1 ? '' : 's'}:\n`
  for (const f of failures) yield `\n✖ ${f.path}\n  in ${f.file ?? '(unknown file)'}\n${indent(f.error)}\n`
}

function describe(error) {
  if (!error) return '(no error recorded)'
  const cause = error.cause ?? error
  const text = cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause)
  // The runner's own frames say nothing about the failure.
  const lines = text.split('\n').filter((l) => !/^\s+at .*\(?node:(internal|async_hooks)/.test(l))
  return lines.slice(0, MAX_ERROR_LINES).join('\n') + (lines.length > MAX_ERROR_LINES ? '\n…' : '')
}

function indent(text) {
  return text.split('\n').map((l) => '    ' + l).join('\n')
}
