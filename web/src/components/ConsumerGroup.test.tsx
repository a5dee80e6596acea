import { render, screen, within } from '../test/render'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { urlOf } from '../test/fetch'
import { ConsumerGroup } from './ConsumerGroup'

describe('ConsumerGroup', () => {
  beforeEach(() => vi.unstubAllGlobals())

  it('shows members and lag, treating null lists as empty', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn((input: RequestInfo | URL) => {
        expect(urlOf(input)).toBe('/api/consumer_metrics/')
        const res = new Response(
          JSON.stringify({
            group: 'dashboard_consumer_group',
            topic: 'user_events',
            consumers: [
              {
                consumer_id: 'c1',
                partitions: [0, 2],
                processed: 1250,
                failed: 1,
                retried: 3,
                dead_lettered: 1,
                avg_processing_time_ms: 12,
                in_flight: 0,
                last_commit_at: null,
              },
              {
                consumer_id: 'c2',
                partitions: null,
                processed: 0,
                failed: 0,
                retried: 0,
                dead_lettered: 0,
                avg_processing_time_ms: 0,
                in_flight: 0,
                last_commit_at: null,
              },
            ],
            partitions: [
              { partition: 0, committed_offset: 10, end_offset: 17, lag: 7 },
              { partition: 1, committed_offset: -1, end_offset: 0, lag: 0 },
            ],
            total_lag: 7,
          }),
          { status: 200 },
        )
        return Promise.resolve(res)
      }),
    )
    render(<ConsumerGroup pollMs={60_000} />)
    const members = await screen.findByRole('table', { name: 'Members' })
    const rows = within(members).getAllByRole('row')
    expect(rows[1].textContent).toContain('c1')
    expect(rows[1].textContent).toContain('0, 2')
    expect(rows[1].textContent).toContain('1,250')
    expect(rows[2].textContent).toContain('c2—')
    const lag = within(screen.getByRole('table', { name: 'Lag per partition' })).getAllByRole('row')
    expect(lag.map((r) => r.textContent)).toEqual(['PartitionCommittedEndLag', '010177', '1—00'])
    expect(screen.getByText(/dashboard_consumer_group on user_events/).textContent).toContain('total lag 7')
  })

  it("shows the server's error", async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(() =>
        Promise.resolve(
          new Response(JSON.stringify({ error: 'kafka: group coordinator not available' }), { status: 503 }),
        ),
      ),
    )
    render(<ConsumerGroup pollMs={60_000} />)
    expect((await screen.findByRole('alert')).textContent).toContain('kafka: group coordinator not available')
  })
})
