import { render, screen, within } from '../test/render'
import userEvent from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { json, stubFetch } from '../test/fetch'
import { OrderingView } from './OrderingView'

describe('OrderingView', () => {
  it('lists held keys and the lowest unfinished offset per partition', async () => {
    stubFetch(() =>
      json({
        held_keys: [
          {
            key: 'user_ab12',
            partition: 1,
            offset: 17,
            event_id: 'ev-4',
            status: 'retrying',
            waiting: 3,
            consumer_id: 'pulse-1',
          },
        ],
        held_keys_total: 5,
        partitions: [
          { partition: 0, consumer_id: 'pulse-1', lowest_unfinished: null, committed: 12 },
          { partition: 1, consumer_id: 'pulse-1', lowest_unfinished: 17, committed: 17 },
        ],
      }),
    )
    const user = userEvent.setup()
    const opened: string[] = []
    render(<OrderingView pollMs={60_000} onOpenTimeline={(id) => opened.push(id)} />)
    const held = await screen.findByRole('table', { name: 'Held keys' })
    const row = within(held).getAllByRole('row')[1]
    expect(
      within(row)
        .getAllByRole('cell')
        .map((c) => c.textContent)
        .slice(0, 6),
    ).toEqual(['user_ab12', '1', '17', 'retrying', '3', 'pulse-1'])
    expect(screen.getByText('5 held in all, 1 shown')).toBeTruthy()
    await user.click(within(row).getByRole('button', { name: 'Timeline of user_ab12 at offset 17' }))
    expect(opened).toEqual(['ev-4'])
    const parts = within(screen.getByRole('table', { name: 'Lowest unfinished offset per partition' })).getAllByRole(
      'row',
    )
    expect(parts.slice(1).map((r) => r.textContent)).toEqual(['0pulse-1— (none in flight)12', '1pulse-11717'])
  })

  it('treats null lists as empty', async () => {
    stubFetch(() => json({ held_keys: null, held_keys_total: 0, partitions: null }))
    render(<OrderingView pollMs={60_000} />)
    expect(await screen.findByText('No key is held back right now.')).toBeTruthy()
  })
})
