/** switchyard_plugin_errors_total{plugin,hook}: hooks that threw, rejected or misused the API, per worker. */
import { CounterFamily, SEP, type MetricJSON } from '../../telemetry/metric-store.js'

const family = new CounterFamily('switchyard_plugin_errors_total', 'Plugin hooks that threw or rejected (each failed its request), by plugin filter name and hook.', ['plugin', 'hook'])

export function countPluginError(plugin: string, hook: string): void {
  const key = plugin + SEP + hook
  ;(family.get(key) ?? family.add(key, [plugin, hook])).value++
}

export function pluginErrorFamily(): MetricJSON {
  return family.toJSON()
}
