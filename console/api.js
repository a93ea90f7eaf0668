// The admin API as the console calls it: same-origin fetches carrying the admin token, if one was
// given, as `Authorization: Bearer`. The token stays in this tab's sessionStorage (gone when the
// tab closes) and is never put in a URL, a cookie or the page.
const TOKEN_KEY = 'switchyard-admin-token'

export class Unauthorized extends Error {}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (t) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
}

function headers(extra = {}) {
  const t = token.get()
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra
}

async function failure(res) {
  let message = `HTTP ${res.status}`
  try {
    const body = await res.json()
    if (body && typeof body.error === 'string') message += `: ${body.error}`
  } catch {}
  return new Error(message)
}

/** GET `path` as JSON; throws Unauthorized on 401, an Error naming the status otherwise. */
export async function get(path) {
  const res = await fetch(path, { headers: headers(), cache: 'no-store' })
  if (res.status === 401) throw new Unauthorized('the admin API answered 401')
  if (!res.ok) throw await failure(res)
  return res.json()
}

/** POST /config/validate: the compile's answer, valid (200) or not (422). */
export async function validate(name, text) {
  const res = await fetch(`/config/validate?name=${encodeURIComponent(name)}`, { method: 'POST', headers: headers({ 'content-type': 'application/yaml' }), body: text })
  if (res.status === 401) throw new Unauthorized('the admin API answered 401')
  if (res.status !== 200 && res.status !== 422) throw await failure(res)
  return res.json()
}
