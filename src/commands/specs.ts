/**
 * Every command's flag table, in the order `switchyard --help` lists them. Parsing, checks,
 * suggestions and help come from these (see flags.ts); the README's command-line section shows
 * the `--help` they produce, and test/cli checks that it still does.
 */
import { ETCD_FLAGS } from './etcd-options.js'
import type { CommandSpec, FlagValues } from './flags.js'

const CONFIG = {
  name: 'config', short: 'c', type: 'string', value: '<file|dir>',
  description: 'config file, or directory of *.yaml files (same as the argument)',
} as const

export const RUN = {
  name: 'run',
  summary: 'serve a config (file, directory or etcd prefix), reloading it on change',
  description:
    'Serves a config: a file or a directory of *.yaml files (watched: a change is live within a second; a broken one ' +
    'is rejected whole and the last good config keeps serving), or an etcd prefix (--etcd, --prefix). Each worker ' +
    'thread runs its own uWS app on the same ports.\n\n' +
    'SIGTERM/SIGINT: stop accepting, let in-flight requests and streams finish (up to runtime.drain_timeout, ' +
    'default 30s), close pools, exit 0. An invalid config at start: every error as file:line:col, exit 1.',
  operand: { name: '<file|dir>', description: 'the config to serve (or -c; or --etcd)', flag: 'config' },
  flags: [
    CONFIG,
    { name: 'workers', short: 'w', type: 'integer', min: 1, max: 256, defaultText: 'number of CPU cores', description: 'worker threads, each serving every listener' },
    { name: 'admin-port', type: 'port', defaultText: "the config's admin.port, 9901", description: 'admin API port, overriding the config; 0 turns the admin API off' },
    { name: 'require-native', type: 'boolean', description: "refuse to start when uWebSockets.js runs its slow JavaScript fallback instead of its native addon" },
    ...ETCD_FLAGS,
    { name: 'etcd-fallback', type: 'string', value: '<file|dir>', description: 'with --etcd: local config to serve when etcd is unreachable at start' },
  ],
  example: 'switchyard run -c examples/quickstart.yaml --workers 2',
} as const satisfies CommandSpec
export type RunValues = FlagValues<typeof RUN>

export const VALIDATE = {
  name: 'validate',
  summary: 'check a config and print every error at once',
  description:
    'Compiles a config without serving it. Prints every error at once as file:line:col: path: message and exits 1, or a one-line summary and exits 0. ' +
    'Secret references (${env:NAME}, ${file:path}) are checked and listed in the summary but not read: each gateway host resolves them when it serves the config.',
  operand: { name: '<file|dir>', description: 'the config to check (or -c)', required: true, flag: 'config' },
  flags: [
    CONFIG,
    { name: 'resolve-secrets', type: 'boolean', description: 'also resolve every reference here, as run does, and report the ones that are not set or cannot be read' },
  ],
  example: 'switchyard validate examples/quickstart.yaml',
} as const satisfies CommandSpec

export const EXPLAIN = {
  name: 'explain',
  summary: 'show which listener, rule, cluster(s) and filters a request would get',
  description: 'Shows which listener, route rule, cluster(s) (with weights and endpoints) and filter chain a request would get, without sending it.',
  operand: { name: '<file|dir>', description: 'the config (or -c)', required: true, flag: 'config' },
  flags: [
    CONFIG,
    { name: 'method', type: 'string', value: '<method>', default: 'POST', description: 'request method' },
    { name: 'path', type: 'string', value: '<path>', default: '/v1/chat/completions', description: 'request path' },
    { name: 'header', type: 'list', value: '<name=value>', description: 'request header; repeat the flag for several' },
    { name: 'query', type: 'string', value: '<a=b&c=d>', default: '', description: 'query string' },
    { name: 'model', type: 'string', value: '<model>', description: "the JSON body's model" },
    { name: 'listener', type: 'string', value: '<name>', defaultText: 'the first listener', description: 'listener the request arrives on' },
  ],
  example: 'switchyard explain examples/quickstart.yaml --model gpt-4o-mini --header x-user-id=42',
} as const satisfies CommandSpec

/** In `config` commands the etcd target is not optional. */
const ETCD_TARGET_FLAGS = [{ ...ETCD_FLAGS[0], required: true }, { ...ETCD_FLAGS[1], required: true }, ...ETCD_FLAGS.slice(2)] as const
const ETCD_EXAMPLE = '--etcd http://127.0.0.1:2379 --prefix /switchyard/dev/'

export const CONFIG_PUSH = {
  name: 'config push',
  summary: 'validate a config, then write it to etcd in one guarded transaction',
  description:
    "Validates the config like 'validate' (with an error nothing is written), then writes every changed object and " +
    'deletes every removed one under the prefix in one etcd transaction, guarded by what it read: if anything under ' +
    'the prefix changed meanwhile, nothing is written and push fails. Secret references are pushed as written and ' +
    'resolved by each gateway host, so no secret is needed where push runs.',
  operand: { name: '<file|dir>', description: 'the config to push', required: true },
  flags: [...ETCD_TARGET_FLAGS, { name: 'message', type: 'string', value: '<text>', description: "why: stored with the push (user and host too) and shown by every gateway's config history and audit log" }],
  example: `switchyard config push examples/quickstart.yaml ${ETCD_EXAMPLE} --message "gpt-4o to 20 %"`,
} as const satisfies CommandSpec

const ADMIN_FLAG = { name: 'admin', type: 'string', value: '<url>', default: 'http://127.0.0.1:9901', description: "a running gateway's admin API (with admin.token set, put the token in SWITCHYARD_ADMIN_TOKEN)" } as const

export const CONFIG_DIFF = {
  name: 'config diff',
  summary: "show what a push would change, or what two versions changed",
  description:
    "With a config and --etcd/--prefix: shows what 'config push' would add, change and delete under the prefix, without writing anything. " +
    "With --from and --to: asks a running gateway (--admin) for two versions of its config history and shows which objects changed and how, " +
    'line by line (secrets as their references, literal credentials masked).',
  operand: { name: '<file|dir>', description: 'the config to compare (not with --from/--to)' },
  flags: [...ETCD_FLAGS, { name: 'from', type: 'string', value: '<version>', description: 'an applied version (config history)' }, { name: 'to', type: 'string', value: '<version>', description: 'a later applied version' }, ADMIN_FLAG],
  example: `switchyard config diff examples/quickstart.yaml ${ETCD_EXAMPLE}`,
} as const satisfies CommandSpec

export const CONFIG_HISTORY = {
  name: 'config history',
  summary: 'list the config versions a gateway applied, with what changed',
  description:
    "Asks a running gateway's admin API (GET /config/history) for the versions it applied since it started (the last 50): when, from which " +
    "source, which objects were added (+), removed (-) or changed (~), and for etcd pushes made with --message who pushed it and why.",
  flags: [ADMIN_FLAG, { name: 'json', type: 'boolean', description: "print the admin API's JSON" }],
  example: 'switchyard config history --admin http://127.0.0.1:9901',
} as const satisfies CommandSpec

export const CONFIG_ROLLBACK = {
  name: 'config rollback',
  summary: 'put an earlier config version back in service',
  description:
    'With --etcd/--prefix: reads the objects under the prefix as they were at the etcd revision --to names (the version a gateway shows for an etcd ' +
    "source) and writes them back in one transaction guarded like 'config push' (a new push, in every gateway's history; --message says why). " +
    'Without etcd: asks the gateway (--admin) for that version and prints its config, secrets as their references, to restore into the files.',
  flags: [...ETCD_FLAGS, { name: 'to', type: 'string', value: '<version>', required: true, description: 'the version to go back to' }, { name: 'message', type: 'string', value: '<text>', description: 'why (etcd)' }, ADMIN_FLAG],
  example: `switchyard config rollback --to 1042 ${ETCD_EXAMPLE} --message "canary misbehaved"`,
} as const satisfies CommandSpec

export const CONFIG_PULL = {
  name: 'config pull',
  summary: 'write the config stored in etcd as files',
  description: 'Writes the objects stored under the prefix as YAML files, one per object, into a new or empty directory (stale files there would be pushed back).',
  operand: { name: '<dir>', description: 'directory to write into, new or empty', required: true },
  flags: ETCD_TARGET_FLAGS,
  example: `switchyard config pull ./dev-config ${ETCD_EXAMPLE}`,
} as const satisfies CommandSpec

/** Where `keys` commands keep the records: a config file or directory, or an etcd prefix. */
const KEYS_TARGET_FLAGS = [
  { ...CONFIG, description: 'config file, or directory of *.yaml files, holding the keys: list (or --etcd and --prefix)' },
  ...ETCD_FLAGS,
] as const

export const KEYS_CREATE = {
  name: 'keys create',
  summary: 'generate an API key for a tenant, print it once, store only its hash',
  description:
    'Generates a random API key (sy-<id>_<secret><check>), prints it once on stdout and writes only its SHA-256 into the ' +
    'config: appended to the keys: list of the file (comments kept; in a directory, the file that already has one, else ' +
    'keys.yaml), or as one etcd key <prefix>keys/<id>. The config with the new key is compiled first: an unknown tenant ' +
    'writes nothing. A running gateway picks the key up within a second.',
  flags: [
    ...KEYS_TARGET_FLAGS,
    { name: 'tenant', type: 'string', value: '<name>', required: true, description: 'tenant the key belongs to (under tenants:)' },
    { name: 'id', type: 'string', value: '<id>', defaultText: 'a generated 12-character id', description: "the key's public id (a-z, 0-9, -)" },
    { name: 'models', type: 'list', value: '<model|glob>', description: "models the key may use, narrowing the tenant's; repeat or separate with commas" },
    { name: 'expires', type: 'string', value: '<when>', description: 'expiry: a lifetime (90d, 12h, 30m), a date (2026-06-30) or a date-time with a zone' },
  ],
  example: 'switchyard keys create --tenant free --config examples/tenants.yaml',
} as const satisfies CommandSpec

export const KEYS_LIST = {
  name: 'keys list',
  summary: 'list the API keys (ids, tenants, state; never a hash)',
  description: 'Lists the keys of a config file or directory, or of an etcd prefix: id, tenant, state (active, expired, disabled), models and expiry. Hashes are never shown.',
  flags: KEYS_TARGET_FLAGS,
  example: 'switchyard keys list --config examples/tenants.yaml',
} as const satisfies CommandSpec

export const KEYS_REVOKE = {
  name: 'keys revoke',
  summary: 'disable an API key (live within a second)',
  description: 'Sets disabled: true on the key (it stays listed, so logs and /keys can name it). A running gateway refuses it within a second, on every host reading the same file or etcd prefix.',
  operand: { name: '<id>', description: 'the id of the key to revoke', required: true },
  flags: KEYS_TARGET_FLAGS,
  example: 'switchyard keys revoke k7f2m9q4x1ab --config examples/tenants.yaml',
} as const satisfies CommandSpec

export const EXPERIMENTS = {
  name: 'experiments',
  summary: "print a running gateway's A/B results: every weighted split, per variant",
  description:
    'Asks a running gateway\'s admin API (GET /experiments) for every weighted_clusters rule and prints one table ' +
    'per experiment: per variant its configured weight beside the observed share, requests, error rate (5xx and ' +
    'abandoned), latency p50/p95, TTFT p50 (streams), tokens, and for sticky splits the distinct keys seen. ' +
    'Numbers count since the gateway started, summed over its workers. With admin.token set, put the token in ' +
    'SWITCHYARD_ADMIN_TOKEN.',
  flags: [
    { name: 'admin', type: 'string', value: '<url>', default: 'http://127.0.0.1:9901', description: "the gateway's admin API" },
    { name: 'json', type: 'boolean', description: 'print the admin API\'s JSON instead of tables' },
  ],
  example: 'switchyard experiments --admin http://127.0.0.1:9901',
} as const satisfies CommandSpec

const ROLLOUT_FLAGS = [
  { name: 'admin', type: 'string', value: '<url>', default: 'http://127.0.0.1:9901', description: "the gateway's admin API" },
] as const
const ROLLOUT_OPERAND = { name: '<rollout>', description: 'which rollout: <route table>/<rule>, or the rule name (default: the only one)' } as const

export const ROLLOUT_STATUS = {
  name: 'rollout status',
  summary: "print a running gateway's progressive canaries: step, share, guards' numbers, decisions",
  description:
    'Asks a running gateway\'s admin API (GET /rollouts) for every weighted_clusters rule with a rollout and prints ' +
    'per rollout its state (running, paused, rolled back, aborted, complete), the step and the candidate\'s share, ' +
    'configured beside effective weights, the current window\'s numbers for candidate and baseline, and the ' +
    'decisions taken so far with their numbers. With admin.token set, put the token in SWITCHYARD_ADMIN_TOKEN.',
  operand: ROLLOUT_OPERAND,
  flags: [...ROLLOUT_FLAGS, { name: 'json', type: 'boolean', description: "print the admin API's JSON instead of text" }],
  example: 'switchyard rollout status --admin http://127.0.0.1:9901',
} as const satisfies CommandSpec

export const ROLLOUT_PAUSE = {
  name: 'rollout pause',
  summary: 'hold a rollout at its current share (the step clock stops)',
  description: 'Holds the candidate at its current share; no step passes and no guard is judged until `rollout resume`. With an etcd source it is stored under the prefix and every gateway host on it follows within a second; otherwise it acts on this gateway only.',
  operand: ROLLOUT_OPERAND,
  flags: ROLLOUT_FLAGS,
  example: 'switchyard rollout pause main/chat',
} as const satisfies CommandSpec

export const ROLLOUT_RESUME = {
  name: 'rollout resume',
  summary: 'continue a paused rollout, or start a rolled-back or aborted one again',
  description: 'A paused rollout continues its step with a fresh window (what happened while paused is not judged); a rolled-back or aborted one starts again from its first step. With an etcd source it is stored under the prefix and every gateway host on it follows within a second; otherwise it acts on this gateway only.',
  operand: ROLLOUT_OPERAND,
  flags: ROLLOUT_FLAGS,
  example: 'switchyard rollout resume main/chat',
} as const satisfies CommandSpec

export const ROLLOUT_ABORT = {
  name: 'rollout abort',
  summary: 'send the candidate back to 0 % now',
  description: 'Sets the candidate\'s share to 0 % at once, on every worker, and logs it. `rollout resume` starts it again from its first step. With an etcd source it is stored under the prefix and every gateway host on it follows within a second; otherwise it acts on this gateway only.',
  operand: ROLLOUT_OPERAND,
  flags: ROLLOUT_FLAGS,
  example: 'switchyard rollout abort main/chat',
} as const satisfies CommandSpec

/** Words that only name a group of commands (`switchyard config …`), with what the group is for. */
export const GROUPS: Readonly<Record<string, string>> = {
  config: "Keeps one environment's config (an etcd key prefix) in step with local files.",
  keys: 'Issues, lists and revokes the API keys of tenants, in a config file or directory or under an etcd prefix.',
  rollout: "Watches and steers a running gateway's progressive canaries (weighted_clusters rollout:).",
  models: 'Lists and shows the model registry (models:) of a config or a running gateway.',
}

/** `endpoints register` reaches etcd like `config push`, but its prefix is the discovery root (a default). */
const DISCOVERY_ETCD_FLAGS = [
  { ...ETCD_FLAGS[0], default: 'http://127.0.0.1:2379' },
  { name: 'prefix', type: 'string', value: '<prefix>', default: '/switchyard/endpoints/', description: "the cluster's discovery.etcd.prefix; the key is <prefix><cluster>/<name>" },
  ...ETCD_FLAGS.slice(2),
] as const

export const ENDPOINTS_REGISTER = {
  name: 'endpoints register',
  summary: 'register an endpoint of a cluster in etcd and keep it alive until stopped',
  description:
    'Writes <prefix><cluster>/<name> = {"url","weight","name"} held by a lease of --ttl, and renews the lease until ' +
    'SIGTERM/SIGINT (then revokes it: the endpoint leaves at once). Gateways whose cluster has discovery.etcd pick it up ' +
    'within a second; if this process dies, the endpoint leaves when the lease expires. Lost contact with etcd: it ' +
    'registers again once etcd answers. Run it beside a model server (docs/discovery.md shows the etcdctl and HTTP equivalents).',
  flags: [
    { name: 'cluster', type: 'string', value: '<name>', required: true, description: 'the cluster (one with discovery) the endpoint joins' },
    { name: 'url', type: 'string', value: '<url>', required: true, description: 'the endpoint base URL, e.g. http://10.0.0.5:8000/v1' },
    { name: 'weight', type: 'integer', min: 0, max: 1000000, default: '1', description: 'relative weight (lb: weighted, ring_hash, dynamic_weighted)' },
    { name: 'name', type: 'string', value: '<id>', defaultText: 'host-port of --url', description: "the key's last segment and the endpoint's name in x-switchyard-endpoint" },
    { name: 'ttl', type: 'duration', default: '10s', description: 'lease TTL (whole seconds, at least 2s): how long the endpoint outlives this process' },
    ...DISCOVERY_ETCD_FLAGS,
  ],
  example: 'switchyard endpoints register --cluster vllm --url http://10.0.0.5:8000/v1 --ttl 10s',
} as const satisfies CommandSpec

/** `models` commands read a config (--config) or ask a running gateway (--admin, the default). */
const MODELS_SOURCE_FLAGS = [
  { ...CONFIG, description: 'read the registry from this config file or directory instead of a running gateway' },
  { ...ADMIN_FLAG, description: "a running gateway's admin API, asked when --config is not given (with admin.token set, put the token in SWITCHYARD_ADMIN_TOKEN)" },
  { name: 'json', type: 'boolean', description: 'print JSON (the admin API\'s GET /models shape)' },
] as const

export const MODELS_LIST = {
  name: 'models list',
  summary: 'list the model registry: names, aliases, context windows, capabilities, prices, lifecycle',
  description:
    'Lists the registered models (the `models:` kind, docs/models.md) of a config file or directory (--config), or of a running ' +
    'gateway (--admin, GET /models): per model its aliases, context window and output ceiling, the capabilities it lacks, ' +
    'its prices per million tokens, and whether it is deprecated (with its replacement and whether requests are rewritten to it).',
  flags: MODELS_SOURCE_FLAGS,
  example: 'switchyard models list --config examples/models.yaml',
} as const satisfies CommandSpec

export const MODELS_SHOW = {
  name: 'models show',
  summary: 'show one registered model (by name or alias) with every field',
  description:
    'Shows one registered model, found by its name or an alias, from a config (--config) or a running gateway (--admin, ' +
    'GET /models/<name>): aliases, provider id per cluster, context window, max output tokens, each capability, prices, ' +
    'lifecycle, and which listeners list it through which clusters.',
  operand: { name: '<name>', description: 'the model name or alias', required: true },
  flags: MODELS_SOURCE_FLAGS,
  example: 'switchyard models show gpt-4o-mini --config examples/models.yaml',
} as const satisfies CommandSpec
