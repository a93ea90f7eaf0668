/** Any JSON value, and a JSON object whose members the translators do not look into. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json }
export type JsonObject = { [k: string]: unknown }
