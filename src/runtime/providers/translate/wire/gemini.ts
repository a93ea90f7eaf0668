/** Gemini generateContent / streamGenerateContent: request, response, error.
 *  Loose on purpose, like every wire shape (see ../types.ts). */
import type { JsonObject } from './json.js'

export interface GeminiPart {
  text?: string
  thought?: boolean
  thoughtSignature?: string
  inlineData?: { mimeType: string; data: string }
  fileData?: { mimeType?: string; fileUri: string }
  functionCall?: { name: string; args?: JsonObject; id?: string }
  functionResponse?: { name: string; response: JsonObject; id?: string }
}

export interface GeminiContent {
  role?: 'user' | 'model'
  parts: GeminiPart[]
}

export interface GeminiFunctionDeclaration {
  name: string
  description?: string
  parameters?: JsonObject
}

export interface GeminiRequest {
  contents: GeminiContent[]
  systemInstruction?: GeminiContent
  tools?: { functionDeclarations: GeminiFunctionDeclaration[] }[]
  toolConfig?: { functionCallingConfig: { mode: 'AUTO' | 'ANY' | 'NONE'; allowedFunctionNames?: string[] } }
  generationConfig?: {
    maxOutputTokens?: number
    temperature?: number
    topP?: number
    topK?: number
    stopSequences?: string[]
    candidateCount?: number
    responseMimeType?: string
    responseSchema?: JsonObject
    presencePenalty?: number
    frequencyPenalty?: number
    seed?: number
  }
  [k: string]: unknown
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number
  candidatesTokenCount?: number
  totalTokenCount?: number
  cachedContentTokenCount?: number
  thoughtsTokenCount?: number
  toolUsePromptTokenCount?: number
}

export interface GeminiCandidate {
  content?: GeminiContent
  finishReason?: string
  index?: number
  safetyRatings?: unknown[]
}

export interface GeminiResponse {
  candidates?: GeminiCandidate[]
  promptFeedback?: { blockReason?: string }
  usageMetadata?: GeminiUsageMetadata
  modelVersion?: string
  responseId?: string
}

export interface GeminiErrorBody {
  error: { code: number; message: string; status: string; details?: unknown[] }
}
