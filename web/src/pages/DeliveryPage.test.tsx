import userEvent from '@testing-library/user-event'
import { beforeEach, describe, expect, it } from 'vitest'
import type { LedgerView } from '../api/schema'
import { json, stubFetch, type Call } from '../test/fetch'
import { render, screen, waitFor, within } from '../test/render'
import { chartData, DeliveryPage, sum, verdict } from './DeliveryPage'

const counts = {
  numbered: 0,
  received: 0,
  rejected: 0,
  dnt_dropped: 0,
  stored: 0,
  sequenced: 0,
  duplicates: 0,
  dropped_client: 0,
  late: 0,
  skew_corrected: 0,
  gaps: 0,
}
const shopTotal = {
  ...counts,
  source_id: 'src_shop',
  numbered: 120,
  received: 125,
  stored: 120,
  sequenced: 120,
  duplicates: 5,
}
const blogTotal = { ...counts, source_id: 'src_blog', numbered: 40, received: 37, stored: 37, sequenced: 37, gaps: 3 }

function view(totals: (typeof shopTotal)[]): LedgerView {
  return {
    range: '1h',
    step_seconds: 30,
    from: '2026-12-02T10:00:00Z',
    to: '2026-12-02T11:00:00Z',
    points: totals.map((t) => ({ ...t, t: '2026-12-02T10:30:00Z' })),
    totals,
  }
}

let calls: Call[] = []
let answer: LedgerView

describe('DeliveryPage', () => {
  beforeEach(() => {
    window.history.replaceState(null, '', '/#/delivery')
    answer = view([shopTotal])
    calls = stubFetch(({ url }) => {
      if (url === '/api/sources/')
        return json({
          sources: [
            {
              id: 'src_shop',
              name: 'shop',
              write_key: 'pk_1',
              origins: [],
              settings: { respect_dnt: false },
              created_at: '2026-12-02T09:00:00Z',
              revoked_at: null,
            },
            {
              id: 'src_blog',
              name: 'blog',
              write_key: 'pk_2',
              origins: [],
              settings: { respect_dnt: false },
              created_at: '2026-12-02T09:00:00Z',
              revoked_at: null,
            },
          ],
          tracker: { url_path: '/pulse.js', integrity: '' },
        })
      if (url.startsWith('/api/ledger/')) return json(answer)
      return json({ error: 'no' }, 404)
    })
  })

  it('says plainly when every numbered event was stored', async () => {
    render(<DeliveryPage pollMs={60_000} />)
    expect((await screen.findByRole('status')).textContent).toBe(
      'Every numbered event was stored: nothing lost, nothing doubled.',
    )
    const list = screen.getByLabelText('Ledger totals')
    expect(list.textContent).toContain('Numbered120')
    expect(list.textContent).toContain('Duplicates dropped5')
    const rows = within(screen.getByRole('table', { name: 'Ledger by source' })).getAllByRole('row')
    await waitFor(() => expect(rows[1].textContent).toContain('shop'))
  })

  it('explains gaps, and asks the server for one source in the range of the URL', async () => {
    answer = view([blogTotal])
    const user = userEvent.setup()
    render(<DeliveryPage pollMs={60_000} />)
    expect((await screen.findByRole('status')).textContent).toContain('3 numbered events were never stored')
    await screen.findByRole('option', { name: 'blog' })
    await user.selectOptions(screen.getByLabelText('Source'), 'src_blog')
    await user.click(screen.getByLabelText('24 h'))
    await waitFor(() => expect(calls.map((c) => c.url)).toContain('/api/ledger/?range=24h&source=src_blog'))
    expect(window.location.hash).toContain('source=src_blog')
    expect(window.location.hash).toContain('range=24h')
  })

  it('shows an empty state when no source sent anything', async () => {
    answer = view([])
    render(<DeliveryPage pollMs={60_000} />)
    expect(await screen.findByText(/No source sent anything/)).toBeTruthy()
    expect(screen.getByRole('status').textContent).toBe('Nothing was delivered in this range.')
  })
})

describe('ledger arithmetic', () => {
  it('adds sources up and words the verdict', () => {
    const s = sum([shopTotal, blogTotal])
    expect(s.numbered).toBe(160)
    expect(s.gaps).toBe(3)
    expect(verdict({ ...s, gaps: 1, rejected: 0 })).toContain('1 numbered event was never stored')
    expect(verdict({ ...s, gaps: 1, rejected: 0 })).not.toContain('refused')
    expect(verdict({ ...s, gaps: 2, rejected: 2 })).toContain('refused by the collector (2 refused in this range')
    expect(verdict({ ...s, gaps: -2 })).toContain('2 late events filled gaps')
  })

  it('fills the steps without counts with zero', () => {
    const [x, received, stored, , gaps] = chartData(view([shopTotal, blogTotal]))
    expect(x).toHaveLength(120)
    expect(received[60]).toBe(162)
    expect(stored[60]).toBe(157)
    expect(gaps[60]).toBe(3)
    expect(received[0]).toBe(0)
  })
})
