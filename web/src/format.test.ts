import { describe, expect, it } from 'vitest'
import { elapsed, ms, percent, perSecond, wait } from './format'

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

  it('percent: a decimal below 10%, whole above', () => {
    expect([percent(0), percent(0.025), percent(0.25), percent(1), percent(0.3333)]).toEqual([
      '0%',
      '2.5%',
      '25%',
      '100%',
      '33%',
    ])
  })

  it('wait: seconds, minutes, hours and days as people say them', () => {
    expect([wait(null), wait(0.42), wait(42.5), wait(180), wait(150), wait(9000), wait(259_200)]).toEqual([
      '—',
      '0.4 s',
      '43 s',
      '3 min',
      '2.5 min',
      '2.5 h',
      '3 d',
    ])
  })
})
