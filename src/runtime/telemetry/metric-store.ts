/**
 * A worker's metric series: plain numbers in maps keyed by the joined label values, so recording
 * is a map lookup and an add (no label validation, hashing or allocation once a series exists).
 * The main thread asks for them on every scrape (toJSON) and sums the workers' answers with
 * prom-client's AggregatorRegistry, which is why toJSON speaks prom-client's `getMetricsAsJSON()`
 * shape. Series live as long as the worker: a reload does not reset a counter.
 *
 * @example
 * const requests = new CounterFamily('switchyard_requests_total', 'Requests.', ['route', 'status_class'])
 * const key = route + SEP + status
 * ;(requests.get(key) ?? requests.add(key, [route, status])).value++
 */

/** Joins label values into a series key; no config name or label value we emit contains it. */
export const SEP = '\u0000'

/** One value of prom-client's metric JSON (`registry.getMetricsAsJSON()`). */
export interface MetricValueJSON {
  readonly labels: Record<string, string | number>
  readonly value: number
  readonly metricName?: string
}

export interface MetricJSON {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge' | 'histogram'
  readonly values: MetricValueJSON[]
  readonly aggregator: 'sum'
}

export interface CounterSeries {
  readonly labels: readonly string[]
  value: number
}

export interface HistogramSeries {
  readonly labels: readonly string[]
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array
  sum: number
  count: number
}

/** Label values as an object, leaving out empty ones (Prometheus treats an empty label as absent). */
function labelObject(names: readonly string[], values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (let i = 0; i < names.length; i++) if (values[i] !== '') out[names[i]] = values[i]
  return out
}

export class CounterFamily {
  private readonly series = new Map<string, CounterSeries>()

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[], readonly type: 'counter' | 'gauge' = 'counter') {}

  get(key: string): CounterSeries | undefined {
    return this.series.get(key)
  }

  add(key: string, labels: readonly string[]): CounterSeries {
    const s = { labels, value: 0 }
    this.series.set(key, s)
    return s
  }

  toJSON(): MetricJSON {
    const values: MetricValueJSON[] = []
    for (const s of this.series.values()) values.push({ labels: labelObject(this.labelNames, s.labels), value: s.value })
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' }
  }
}

export class HistogramFamily {
  private readonly series = new Map<string, HistogramSeries>()

  /** `bounds`: the buckets' upper bounds, ascending (+Inf is implied). */
  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[], readonly bounds: readonly number[]) {}

  get(key: string): HistogramSeries | undefined {
    return this.series.get(key)
  }

  add(key: string, labels: readonly string[]): HistogramSeries {
    const s = { labels, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }
    this.series.set(key, s)
    return s
  }

  // hot path: one scan over ~14 bounds
  observe(s: HistogramSeries, v: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && v > bounds[i]) i++
    s.counts[i]++
    s.sum += v
    s.count++
  }

  /** Cumulative `_bucket` series with `le`, then `_sum` and `_count`, as prom-client exports them. */
  toJSON(): MetricJSON {
    const values: MetricValueJSON[] = []
    const bucket = `${this.name}_bucket`
    for (const s of this.series.values()) {
      const labels = labelObject(this.labelNames, s.labels)
      let acc = 0
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]
        values.push({ labels: { ...labels, le: this.bounds[i] }, value: acc, metricName: bucket })
      }
      values.push({ labels: { ...labels, le: '+Inf' }, value: s.count, metricName: bucket })
      values.push({ labels, value: s.sum, metricName: `${this.name}_sum` })
      values.push({ labels, value: s.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' }
  }
}
