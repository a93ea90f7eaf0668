import { test } from 'node:test'
import { startRedisCluster } from '../../support/redis-server.js'
import { redisLimitSuite } from '../../support/redis-limit-suite.js'

const cluster = await startRedisCluster()
test.after(() => cluster.close())

// The same cases as the standalone server, against 3 masters; the outage takes down the master
// that serves the tenant's slot (every key of one tenant shares it), then restarts it with its
// nodes.conf so it takes its slots back.
redisLimitSuite('cluster', () => ({
  config: { cluster: cluster.seeds },
  outage: (key) => {
    const node = cluster.nodeFor(key)
    return {
      down: () => node.kill(),
      up: async () => {
        await node.start()
        await cluster.waitHealthy()
      },
    }
  },
}))
