/** Data-URL handling for image and file parts. */

export interface DataUrl {
  mediaType: string
  /** Base64 payload, as found in the URL (not decoded). */
  data: string
}

/** Parses `data:<media type>[;params];base64,<data>`; undefined for anything else. */
export function parseDataUrl(url: string): DataUrl | undefined {
  if (!url.startsWith('data:')) return undefined
  const comma = url.indexOf(',')
  if (comma === -1) return undefined
  const meta = url.slice(5, comma)
  const params = meta.split(';')
  if (params[params.length - 1]?.toLowerCase() !== 'base64') return undefined
  return { mediaType: (params[0] || 'application/octet-stream').toLowerCase(), data: url.slice(comma + 1) }
}

export function toDataUrl(mediaType: string, data: string): string {
  return `data:${mediaType};base64,${data}`
}

const IMAGE_FORMATS: Record<string, 'png' | 'jpeg' | 'gif' | 'webp'> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
}

/** Bedrock names image formats rather than media types. */
export function imageFormatOf(mediaType: string): 'png' | 'jpeg' | 'gif' | 'webp' | undefined {
  return IMAGE_FORMATS[mediaType]
}

export function mediaTypeOfImageFormat(format: string): string {
  return format === 'jpeg' ? 'image/jpeg' : `image/${format}`
}
