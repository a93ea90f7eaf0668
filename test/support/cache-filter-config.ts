/**
 * The in-process cache filter tests' config: one listener (port 8080) whose `answers` cache filter
 * gets `cache` as its config, one chat rule to the mock provider answering as `mock` says.
 */
export const cacheFilterConfig = (cache: string, mock = '{ reply: "Cached words.", chunks: 3 }') => `
listeners:
  - { name: public, port: 8080, route_table: main, filters: [answers] }
routes:
  - name: main
    rules:
      - name: chat
        match: { path: { exact: /v1/chat/completions } }
        cluster: mock
clusters:
  - { name: mock, provider: mock, mock: ${mock} }
filters:
  - name: answers
    type: cache
    config: ${cache}
`
