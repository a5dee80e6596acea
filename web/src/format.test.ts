import { describe, expect, it } from 'vitest'
import { elapsed, ms, perSecond } from './format'

describe('format', () => {
  it('ms: a decimal for small latencies, whole ms, then seconds', () => {
    expect([ms(0.44), ms(8.44), ms(12.4), ms(999.4), ms(5020), ms(1_234_500), ms(null)]).toEqual([
      '0.4 ms',
      '8.4 ms',
      '12 ms',
      '999 ms',
      '5.02 s',
      `${(1234.5).toLocaleString(undefined, { minimumFractionDigits: 2 })} s`,
      '—',
    ])
  })

  it('perSecond: a decimal below 10, thousands separators above', () => {
    expect([perSecond(0), perSecond(9.44), perSecond(379.2), perSecond(12_345.6), perSecond(null)]).toEqual([
      '0.0',
      '9.4',
      '379',
      (12_346).toLocaleString(),
      '—',
    ])
  })

  it('elapsed: seconds, then minutes, then hours', () => {
    expect([elapsed(-5), elapsed(12_900), elapsed(72_000), elapsed(3_725_000)]).toEqual([
      '0 s',
      '12 s',
      '1 min 12 s',
      '1 h 2 min',
    ])
  })
})
